"""Opaque, tamper-proof page tokens (AIP-158): the cursor is JSON, HMAC-signed and base64url'd."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from typing import Any

from crm_platform.errors import FieldError, InvalidInput

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int) -> int:
    if requested < 0:
        raise InvalidInput([FieldError("page_size", "invalid_page_size", "page_size must not be negative")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


class PageTokens:
    def __init__(self, key: str):
        # Without a configured key, tokens are valid only within this process (documented).
        self._key = key.encode() if key else secrets.token_bytes(32)

    def encode(self, cursor: dict[str, Any]) -> str:
        body = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")

    def decode(self, token: str) -> dict[str, Any]:
        invalid = InvalidInput([FieldError("page_token", "invalid_page_token", "page_token is invalid")])
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            raise invalid from None
        mac, body = raw[:16], raw[16:]
        if not hmac.compare_digest(mac, hmac.new(self._key, body, hashlib.sha256).digest()[:16]):
            raise invalid
        try:
            cursor = json.loads(body)
        except ValueError:
            raise invalid from None
        if not isinstance(cursor, dict):
            raise invalid
        return cursor
