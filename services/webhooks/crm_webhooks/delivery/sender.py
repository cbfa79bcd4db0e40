"""One HTTP attempt: POST the exact signed bytes to the pinned target; never raises."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from crm_webhooks.delivery.signing import webhook_headers
from crm_webhooks.targets import TargetRefused, resolve_target

USER_AGENT = "crm-webhooks/1"
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None

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
        try:
            target = await resolve_target(url, allow_private=self.allow_private_targets)
        except TargetRefused as exc:
            return Outcome(None, _short(f"target refused: {exc}"))
        headers = {**target.headers, **webhook_headers(secret, message_id, body), "user-agent": USER_AGENT}
        # A client per attempt: its pool is keyed by the pinned address, and a pooled TLS
        # connection must never be reused for another host name that resolves to that address.
        # No proxies from the environment (they would bypass the pinning), no redirects.
        async with httpx.AsyncClient(
            verify=self._ssl_context, timeout=self.timeout, follow_redirects=False, trust_env=False
        ) as client:
            try:
                # Streamed and never read: a receiver's response body is of no interest, and a
                # huge one must not be buffered.
                async with client.stream(
                    "POST", target.url, content=body, headers=headers, extensions=target.extensions
                ) as response:
                    status_code = response.status_code
            except httpx.HTTPError as exc:
                return Outcome(None, _describe(exc))
        if 200 <= status_code < 300:
            return Outcome(status_code, None)
        return Outcome(status_code, f"HTTP {status_code}")


def _describe(exc: Exception) -> str:
    detail = str(exc)
    return _short(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)


def _short(message: str) -> str:
    return message[:MAX_ERROR_LENGTH]
