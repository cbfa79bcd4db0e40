"""One HTTP attempt: POST the exact signed bytes to the pinned target; never raises.

What it reports is what the delivery log keeps: status, duration, the request headers without
the signature, a few response headers and the first bytes of the response body. The whole
attempt (DNS, connect, send, response) has one deadline, so a receiver that answers slowly or
trickles its body holds a sender slot for `timeout` seconds at most.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from crm_webhooks.delivery.signing import webhook_headers
from crm_webhooks.targets import TargetRefused, resolve_target

USER_AGENT = "crm-webhooks/1"
MAX_ERROR_LENGTH = 500
# Kept from a response: enough to see what the receiver said, bounded so the log stays small.
RESPONSE_EXCERPT_BYTES = 1024
# Response headers worth keeping (an allowlist: cookies or auth challenges are never stored).
KEPT_RESPONSE_HEADERS = ("content-type", "content-length", "retry-after", "location", "date", "server",
                         "x-request-id")
MAX_HEADER_VALUE = 200
# Request headers the log shows; the signature is left out (with the body it could be replayed).
LOGGED_REQUEST_HEADERS = ("webhook-id", "webhook-timestamp", "content-type", "user-agent", "content-length")


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int = 0
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body_excerpt: str = ""
    response_truncated: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error is None


class WebhookSender:
    def __init__(self, *, allow_private_targets: bool, timeout: float = 10.0):
        self.allow_private_targets = allow_private_targets
        self.timeout = timeout
        # Built once: loading the CA bundle per request would cost milliseconds each time.
        self._ssl_context = httpx.create_ssl_context()

    async def send(self, *, url: str, secret: str, message_id: str, body: bytes) -> Outcome:
        started = time.monotonic()
        signed = webhook_headers(secret, message_id, body)
        logged = {name: signed[name] for name in LOGGED_REQUEST_HEADERS if name in signed}
        logged |= {"user-agent": USER_AGENT, "content-length": str(len(body))}
        try:
            async with asyncio.timeout(self.timeout):
                outcome = await self._post(url, signed, body)
        except TimeoutError:
            outcome = Outcome(None, self._timed_out("deadline"))
        duration_ms = int((time.monotonic() - started) * 1000)
        return Outcome(outcome.status_code, outcome.error, duration_ms, logged, outcome.response_headers,
                       outcome.response_body_excerpt, outcome.response_truncated)

    def _timed_out(self, what: str) -> str:
        return f"timed out after {self.timeout:g} s ({what})"

    async def _post(self, url: str, signed: dict[str, str], body: bytes) -> Outcome:
        try:
            target = await resolve_target(url, allow_private=self.allow_private_targets)
        except TargetRefused as exc:
            return Outcome(None, _short(f"target refused: {exc}"))
        headers = {**target.headers, **signed, "user-agent": USER_AGENT}
        # A client per attempt: its pool is keyed by the pinned address, and a pooled TLS
        # connection must never be reused for another host name that resolves to that address.
        # No proxies from the environment (they would bypass the pinning), no redirects.
        async with httpx.AsyncClient(
            verify=self._ssl_context, timeout=self.timeout, follow_redirects=False, trust_env=False
        ) as client:
            try:
                # Streamed: only the first bytes of the body are read, however large it is.
                async with client.stream(
                    "POST", target.url, content=body, headers=headers, extensions=target.extensions
                ) as response:
                    excerpt, truncated = await _read_excerpt(response)
                    status_code = response.status_code
                    kept = {
                        name: value[:MAX_HEADER_VALUE] for name in KEPT_RESPONSE_HEADERS
                        if (value := response.headers.get(name)) is not None
                    }
            except httpx.TimeoutException as exc:
                return Outcome(None, self._timed_out(type(exc).__name__))
            except httpx.HTTPError as exc:
                return Outcome(None, _describe(exc))
        error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
        return Outcome(status_code, error, response_headers=kept, response_body_excerpt=excerpt,
                       response_truncated=truncated)


async def _read_excerpt(response: httpx.Response) -> tuple[str, bool]:
    """The first RESPONSE_EXCERPT_BYTES of the body as text, and whether there was more. A body
    that fails mid-way still gives its status code (the excerpt is what arrived)."""
    chunks = bytearray()
    truncated = False
    try:
        async for chunk in response.aiter_bytes():
            chunks += chunk
            if len(chunks) > RESPONSE_EXCERPT_BYTES:
                truncated = True
                break
    except httpx.HTTPError:
        truncated = True
    text = bytes(chunks[:RESPONSE_EXCERPT_BYTES]).decode("utf-8", errors="replace")
    return text.replace("\x00", ""), truncated  # Postgres text cannot hold NUL


def _describe(exc: Exception) -> str:
    detail = str(exc)
    return _short(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)


def _short(message: str) -> str:
    return message[:MAX_ERROR_LENGTH]
