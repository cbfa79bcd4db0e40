"""Test helpers shared by the webhooks tests (importable because conftest's folder is on sys.path)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from crm_platform.auth import ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers POSTs with the queued status codes (then `default_status`) and records them."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    default_status: int = 204
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def next_status(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            return self.statuses.pop(0) if self.statuses else self.default_status


def receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.next_status(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", "http://127.0.0.1:1/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


async def wait_until(condition: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Polls an async condition; fails the test with a clear message when time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {within}s")


class TokenIssuer:
    """Mints RFC 9068 access tokens the way identity does, with a key the test owns."""

    issuer = "crm-identity-test"
    audience = "crm-api"

    def __init__(self) -> None:
        self.key = ECKey.generate_key("P-256", private=True)
        self.key.ensure_kid()

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self.key.as_dict(private=False), "use": "sig", "alg": SIGNING_ALGORITHM}]}

    def token(self, tenant_id: uuid.UUID, scopes: Sequence[str], **extra: Any) -> str:
        """`extra`: more claims, e.g. `fp` (field policies) or `uid`."""
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": self.audience, "sub": "user-1", "client_id": "web", "tid": str(tenant_id),
            "scope": " ".join(scopes), "iat": now, "nbf": now, "exp": now + 300, **extra,
        }
        header = {"alg": SIGNING_ALGORITHM, "kid": self.key.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(header, claims, self.key, algorithms=[SIGNING_ALGORITHM])
