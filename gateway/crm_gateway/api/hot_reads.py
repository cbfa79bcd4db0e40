"""Hot reads past FastAPI's per-request machinery (issue 9 §6, docs/benchmarks.md "API hot paths").

A `HotRead` is a route placed before FastAPI's routes that takes a request only when its answer
cannot differ from the FastAPI route's: a GET on the path, query parameters among a few known
names with plain values (no escapes, nothing the text rule or the query model could refuse, no
repeats), and a caller that `ApiLimitsMiddleware` has already verified (`request.state.caller`)
holding the scope. Anything else is left to the FastAPI route behind it (401, 403, 400 and every
other answer stay where they are). The handler is the route's own, so the reply is the same; errors
it raises go through the same exception handlers (problem+json). Not in the OpenAPI document: the
FastAPI route still documents the operation.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from crm_gateway.clients import Backends, Caller
from crm_platform.auth import Scope

HotHandler = Callable[[Caller, Backends, dict[str, str]], Awaitable[Response]]
_TAKEN = "crm.hot_read"


class HotRead(BaseRoute):
    def __init__(self, path: str, query: Mapping[str, str], scope: Scope, handler: HotHandler) -> None:
        """`path`: a regex with named groups for the path parameters (restricted to characters the
        text rule accepts); `query`: parameter name -> regex its raw value must match in full."""
        self.path = re.compile(path)
        self.query = {name.encode(): re.compile(pattern.encode()) for name, pattern in query.items()}
        self.scope = scope.value
        self.handler = handler

    def matches(self, scope: AsgiScope) -> tuple[Match, AsgiScope]:
        if scope["type"] != "http" or scope["method"] != "GET":
            return Match.NONE, {}
        found = self.path.fullmatch(scope["path"])
        if found is None:
            return Match.NONE, {}
        caller = scope.get("state", {}).get("caller")
        if not isinstance(caller, Caller) or caller.principal is None or self.scope not in caller.principal.scopes:
            return Match.NONE, {}
        arguments = self._arguments(scope.get("query_string", b""))
        if arguments is None:
            return Match.NONE, {}
        return Match.FULL, {_TAKEN: (caller, found.groupdict() | arguments)}

    def _arguments(self, raw: bytes) -> dict[str, str] | None:
        """The query's values, or None unless every parameter is known, given once and plain."""
        arguments: dict[str, str] = {}
        if not raw:
            return arguments
        for part in raw.split(b"&"):
            name, equals, value = part.partition(b"=")
            pattern = self.query.get(name)
            if pattern is None or not equals or pattern.fullmatch(value) is None:
                return None
            key = name.decode()
            if key in arguments:
                return None
            arguments[key] = value.decode()
        return arguments

    async def handle(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        caller, arguments = scope[_TAKEN]
        response = await self.handler(caller, scope["app"].state.backends, arguments)
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)
