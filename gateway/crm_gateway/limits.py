"""Limits as ASGI middleware, so they hold for every route and body kind: the request body size
(`BodySizeLimitMiddleware`) and, for the public API, rate limits and Idempotency-Key
(`ApiLimitsMiddleware`).

Body size:

Checked twice: by `Content-Length` before the app runs (cheap rejection), and by counting the
bytes actually received (chunked uploads, or a Content-Length that lies). When the count goes
over, the app's own reaction (FastAPI turns read errors into a 400) is discarded and a 413
problem is sent instead.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_gateway import idempotency
from crm_gateway.auth import caller_if_valid
from crm_gateway.problems import Problem, problem_response, render_problem
from crm_gateway.ratelimit import RateLimiter

API_PREFIX = "/v1/"


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


class ApiLimitsMiddleware:
    """For /v1 requests with a valid access token: one token from the caller's client and tenant
    buckets (429 `rate_limited` with `Retry-After` when either is empty), then Idempotency-Key for
    POSTs; the `RateLimit-*` headers of the tighter bucket go on every such response (replays and
    problems included). Requests without a valid token pass through uncharged: the route answers
    401, or runs anonymously (`POST /v1/signup`, which therefore takes no Idempotency-Key)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        caller = await caller_if_valid(request)
        if caller is None or caller.principal is None:
            await self.app(scope, receive, send)
            return
        decision = self.limiter.charge(caller.principal)
        rate_headers = [(name.lower().encode(), value.encode()) for name, value in decision.headers().items()]

        async def send_with_rate_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", ())}
                extra = [(name, value) for name, value in rate_headers if name not in present]
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        if not decision.allowed:
            response = render_problem(request, Problem(429, "rate_limited", headers=decision.headers()))
            await response(scope, receive, send)
            return
        if scope["method"] != "POST" or idempotency.HEADER.lower() not in Headers(scope=scope):
            await self.app(scope, receive, send_with_rate_headers)
            return
        try:
            value = idempotency.parse_key(Headers(scope=scope).getlist(idempotency.HEADER))
        except Problem as problem:
            await render_problem(request, problem)(scope, receive, send_with_rate_headers)
            return
        store: idempotency.IdempotencyStore = request.app.state.idempotency
        key = idempotency.record_key(caller.principal, value)
        await idempotency.run_once(self.app, scope, receive, send_with_rate_headers, store, key)
