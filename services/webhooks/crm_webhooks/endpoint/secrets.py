"""Signing secrets (Standard Webhooks `whsec_...`) and their encryption at rest.

A secret is shown to the tenant once, at creation; afterwards it exists only as AES-256-GCM
ciphertext under the service key (`CRM_WEBHOOKS_SECRET_KEY`). The tenant and endpoint ids are
bound in as associated data, so a ciphertext copied to another row or tenant does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_PREFIX = "whsec_"
# Standard Webhooks allows 24 to 64 bytes; 32 is the size of an HMAC-SHA256 key we want.
SECRET_BYTES = 32
KEY_BYTES = 32
NONCE_BYTES = 12
# First byte of every ciphertext: which key/format wrote it, so the key can be rotated later.
FORMAT_V1 = b"\x01"


class SecretDecryptionError(Exception):
    """The stored ciphertext does not open under this key (wrong key, row or tenant)."""


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signing_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_`."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("a signing secret is base64 after whsec_") from exc


def parse_service_key(encoded: str) -> bytes:
    """`CRM_WEBHOOKS_SECRET_KEY`: base64 of 32 random bytes."""
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("CRM_WEBHOOKS_SECRET_KEY must be base64") from exc
    if len(key) != KEY_BYTES:
        raise ValueError(f"CRM_WEBHOOKS_SECRET_KEY must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


class SecretCipher:
    """AES-256-GCM for signing secrets: `0x01 || nonce(12) || ciphertext+tag`."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"the secret key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:  # never show key material
        return "SecretCipher(<key>)"

    def encrypt(self, secret: str, *, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode("ascii"), _associated_data(tenant_id, endpoint_id))
        return FORMAT_V1 + nonce + sealed

    def decrypt(self, blob: bytes, *, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> str:
        if blob[:1] != FORMAT_V1:
            raise SecretDecryptionError("unknown secret format")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, sealed, _associated_data(tenant_id, endpoint_id))
        except InvalidTag:
            raise SecretDecryptionError("secret does not decrypt for this endpoint") from None
        return plain.decode("ascii")


def _associated_data(tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> bytes:
    return f"crm-webhooks/endpoint-secret/{tenant_id}/{endpoint_id}".encode("ascii")
