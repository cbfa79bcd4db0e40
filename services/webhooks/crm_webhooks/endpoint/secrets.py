"""Signing secrets (Standard Webhooks `whsec_...`) and their encryption at rest.

A secret is shown to the tenant once, at creation; afterwards it exists only sealed under the
service key (`CRM_WEBHOOKS_SECRET_KEY`) in the platform's one envelope (crm_platform/sealing.py).
The tenant and endpoint ids are bound in as associated data, so a ciphertext copied to another row
or tenant does not decrypt. Secrets sealed before the envelope (0x01 | nonce | ciphertext) still
open and are re-sealed by the job migration w0035 queues (`reseal_targets`).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.resealing import ResealTarget
from crm_platform.sealing import KEY_BYTES, Legacy, Sealer, SealError

SECRET_PREFIX = "whsec_"
# Standard Webhooks allows 24 to 64 bytes; 32 is the size of an HMAC-SHA256 key we want.
SECRET_BYTES = 32
RESEAL_TARGET = "webhooks.endpoint_secrets"


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
    """Signing secrets sealed under the service key (crm_platform/sealing.py)."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"the secret key must be {KEY_BYTES} bytes")
        self.sealer = Sealer(key)

    def __repr__(self) -> str:  # never show key material
        return "SecretCipher(<key>)"

    def encrypt(self, secret: str, *, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> bytes:
        return self.sealer.seal(secret.encode("ascii"), context(tenant_id, endpoint_id))

    def decrypt(self, blob: bytes, *, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> str:
        try:
            plain = self.sealer.open(blob, context(tenant_id, endpoint_id), legacy=Legacy.VERSION_1)
        except SealError:
            raise SecretDecryptionError("secret does not decrypt for this endpoint") from None
        return plain.decode("ascii")

    def reseal_targets(self) -> list[ResealTarget]:
        from crm_webhooks.endpoint.tables import endpoints

        async def service_key(session: AsyncSession, tenant_id: uuid.UUID | None) -> Sealer:
            return self.sealer

        def endpoint_context(row: sa.Row[Any], tenant_id: uuid.UUID | None) -> str:
            assert tenant_id is not None
            return context(tenant_id, row.id)

        return [ResealTarget(RESEAL_TARGET, endpoints, {"secret_encrypted": endpoint_context}, Legacy.VERSION_1,
                             service_key)]


def context(tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> str:
    return f"crm-webhooks/endpoint-secret/{tenant_id}/{endpoint_id}"
