"""Request body size limit, as ASGI middleware so it holds for every route and body kind.

Checked twice: by `Content-Length` before the app runs (cheap rejection), and by counting the
bytes actually received (chunked uploads, or a Content-Length that lies). When the count goes
over, the app's own reaction (FastAPI turns read errors into a 400) is discarded and a 413
problem is sent instead.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_gateway.problems import problem_response


class BodyTooLarge(Exception):
    """Raised into the app from `receive` when the body passes the limit."""


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_length(scope) > self.max_body_bytes:
            await self._reject(scope, receive, send)
            return

        received = 0
        exceeded = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:
                return  # whatever the app makes of the interrupted read is replaced by a 413
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await self._reject(scope, receive, send)

    @staticmethod
    def _declared_length(scope: Scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    return int(value)
                except ValueError:
                    return 0  # not a number: let the server's HTTP parser and the byte count decide
        return 0

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            Request(scope), 413, "body_too_large", params={"limit": self.max_body_bytes},
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
