"""Tamper-proof, expiring values for cookies and form fields: base64url(JSON) + HMAC-SHA256.

Each use has its own `purpose`, from which its key is derived, so a value signed for one purpose
(say, the PKCE cookie) is never accepted for another (the session). The payload is readable by
whoever holds the value: never put a secret in it that its holder may not see.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str, purpose: str):
        # Key separation: HMAC(secret, purpose) gives an independent key per purpose.
        self._key = hmac.new(secret.encode(), f"crm-gateway/{purpose}".encode(), hashlib.sha256).digest()

    def _mac(self, payload: str) -> str:
        return _b64encode(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def sign(self, data: dict[str, Any], max_age: int, now: float | None = None) -> str:
        """`data` must be JSON-serialisable; the value stops verifying `max_age` seconds from now."""
        expires = int((now if now is not None else time.time()) + max_age)
        payload = _b64encode(json.dumps({"d": data, "e": expires}, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, value: str | None, now: float | None = None) -> dict[str, Any] | None:
        """The signed data, or None when the value is absent, altered, malformed or expired."""
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        try:
            expected = self._mac(payload)
        except UnicodeEncodeError:
            return None
        if not hmac.compare_digest(mac.encode("ascii", "replace"), expected.encode("ascii")):
            return None
        try:
            envelope = json.loads(_b64decode(payload))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(envelope, dict) or not isinstance(envelope.get("d"), dict):
            return None
        expires = envelope.get("e")
        if not isinstance(expires, int) or (now if now is not None else time.time()) >= expires:
            return None
        data: dict[str, Any] = envelope["d"]
        return data
