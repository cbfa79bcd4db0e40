"""Sealing secrets at rest: the one AES-256-GCM envelope every service uses (docs/architecture.md,
"Sealed secrets"): identity's signing keys and TOTP secrets, customers' tenant data keys and
sensitive fields, webhooks' endpoint signing secrets.

Envelope (version 2), bytes:

    0x02 | key id (4) | nonce (12) | ciphertext + GCM tag (16)

- The key id names the key that sealed the value (HMAC-SHA256(key, "crm-sealing/key-id") cut to
  4 bytes, so it says nothing about the key), so a sealer holding a new key and the previous ones
  opens everything and seals with the newest (key rotation, `Sealer(current, *previous)`).
- The nonce is random per value (96 bits, never reused under a key in practice at our volumes).
- Associated data binds the value to where it belongs: the caller's `context` (e.g. the tenant and
  user a TOTP secret is for) plus the 5 header bytes, so a value copied to another row, tenant or
  field, or a header edited to name another key, does not open.

Before this module each service had its own format (identity: nonce | ciphertext; customers and
webhooks: 0x01 | nonce | ciphertext). `open(..., legacy=...)` still reads those, with the same key
and the same associated data the old code used, so rows written before the change keep working;
the re-seal jobs (crm_platform/resealing.py) rewrite them in the envelope, and `is_current` says
whether a stored value needs that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from enum import Enum
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION: Final = 0x02
KEY_BYTES: Final = 32
KEY_ID_BYTES: Final = 4
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
HEADER_BYTES: Final = 1 + KEY_ID_BYTES
MINIMUM_BYTES: Final = HEADER_BYTES + NONCE_BYTES + TAG_BYTES


class SealError(ValueError):
    """The value does not open: altered, sealed for another context, under an unknown key, or not
    a sealed value at all. Never says which (an attacker learns nothing from the difference)."""


class Legacy(Enum):
    """Formats written before the envelope, read (never written) for rows not yet re-sealed."""

    # identity's sealing.py: nonce(12) | ciphertext+tag, associated data = context.
    NONCE_FIRST = "nonce-first"
    # customers' sensitive/crypto.py and webhooks' endpoint/secrets.py: 0x01 | nonce(12) | ciphertext+tag.
    VERSION_1 = "version-1"


def decode_key(value: str, variable: str) -> bytes:
    """A 256-bit key from its base64 setting; ValueError naming the variable when unusable."""
    try:
        key = base64.b64decode(value, validate=True) if value else b""
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ValueError(f"{variable} must be set to the base64 of {KEY_BYTES} random bytes")
    return key


def key_id(key: bytes) -> bytes:
    return hmac.new(key, b"crm-sealing/key-id", hashlib.sha256).digest()[:KEY_ID_BYTES]


class Sealer:
    """Seals with the first key; opens with any of them (and, when asked, the legacy formats)."""

    def __init__(self, key: bytes, *previous: bytes):
        for one in (key, *previous):
            if len(one) != KEY_BYTES:
                raise ValueError(f"a sealing key is {KEY_BYTES} bytes")
        self._current = key_id(key)
        self._all = [AESGCM(one) for one in (key, *previous)]
        self._keys = dict(zip((key_id(one) for one in (key, *previous)), self._all, strict=True))
        self._keys[self._current] = self._all[0]

    def __repr__(self) -> str:  # never show key material
        return f"Sealer(key_id={self._current.hex()})"

    def seal(self, plaintext: bytes, context: str) -> bytes:
        header = bytes([VERSION]) + self._current
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._keys[self._current].encrypt(nonce, plaintext, _associated(header, context))

    def open(self, sealed: bytes, context: str, *, legacy: Legacy | None = None) -> bytes:
        """The plaintext; SealError when it does not open. `legacy`: also read that older format
        (sealed under one of this sealer's keys with `context` as the associated data)."""
        sealed = bytes(sealed)
        header = sealed[:HEADER_BYTES]
        aead = self._keys.get(header[1:]) if sealed[:1] == bytes([VERSION]) else None
        if aead is not None and len(sealed) >= MINIMUM_BYTES:
            body = sealed[HEADER_BYTES:]
            try:
                return aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], _associated(header, context))
            except InvalidTag:
                pass  # an identity legacy value may start with these bytes by chance: try it below
        if legacy is not None:
            opened = self._open_legacy(sealed, context, legacy)
            if opened is not None:
                return opened
        raise SealError("the sealed value does not open here")

    def _open_legacy(self, sealed: bytes, context: str, legacy: Legacy) -> bytes | None:
        if legacy is Legacy.VERSION_1:
            if sealed[:1] != b"\x01":
                return None
            sealed = sealed[1:]
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            return None
        for aead in self._all:
            try:
                return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())
            except InvalidTag:
                continue
        return None

    @property
    def current_header(self) -> bytes:
        """The first bytes of every value this sealer seals now (re-seal jobs select the others)."""
        return bytes([VERSION]) + self._current

    def is_current(self, sealed: bytes) -> bool:
        """In the envelope under the current key (a re-seal would change nothing)."""
        sealed = bytes(sealed)
        return len(sealed) >= MINIMUM_BYTES and sealed[:HEADER_BYTES] == bytes([VERSION]) + self._current

    def reseal(self, sealed: bytes, context: str, *, legacy: Legacy | None = None) -> bytes | None:
        """The value sealed again in the envelope under the current key; None when it already is."""
        if self.is_current(sealed):
            return None
        return self.seal(self.open(sealed, context, legacy=legacy), context)


def _associated(header: bytes, context: str) -> bytes:
    return header + b"\x00" + context.encode()
