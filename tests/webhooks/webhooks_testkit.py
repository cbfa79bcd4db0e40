"""Test helpers shared by the webhooks tests (importable because conftest's folder is on sys.path)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey

from crm_platform.auth import ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # When it arrived (time.monotonic()), for latency measurements.
    at: float = field(default_factory=time.monotonic)


@dataclass
class Receiver:
    """Answers POSTs with the queued status codes (then `default_status`) and records them."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    default_status: int = 204
    delay: float = 0.0
    # What every answer carries besides its status.
    response_body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # How many requests are being answered right now, and the most seen at once.
    in_flight: int = 0
    max_in_flight: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def next_status(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.statuses.pop(0) if self.statuses else self.default_status

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1


def receiver_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.next_status(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            try:
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", "http://127.0.0.1:1/elsewhere")
                for name, value in receiver.response_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(receiver.response_body)))
                self.end_headers()
                if receiver.response_body:
                    self.wfile.write(receiver.response_body)
            finally:
                receiver.done()

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


class ReceiverServer:
    """A real HTTP server on 127.0.0.1 answering for a `Receiver`; can go down and come back on
    the same port (a receiver outage)."""

    def __init__(self, receiver: Receiver, port: int = 0):
        self.receiver = receiver
        self.port = port
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> ReceiverServer:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), receiver_handler(self.receiver))
        server.daemon_threads = True
        self.port = self.receiver.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


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
