"""Identity's secrets at rest: token signing keys (`keys/`) and TOTP secrets (`users/mfa.py`),
sealed under the master key in the platform's one envelope (crm_platform/sealing.py) with
associated data binding each to what it belongs to (a key id, a tenant and user), so a sealed value
copied onto another row does not open. Values sealed before the envelope (nonce | ciphertext) still
open and are re-sealed by the `sealing.reseal` jobs of migrations i0036 / it0035 (`RESEAL_TARGETS`).

Also keyed hashes (HMAC-SHA256 under a key derived from the master key) for short secrets stored
only to be compared, such as recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import sealing
from crm_platform.resealing import ResealTarget
from crm_platform.sealing import Legacy, SealError

__all__ = ["SealError", "Sealer", "reseal_targets"]

MASTER_KEY_ENV = "CRM_IDENTITY_MASTER_KEY"


class Sealer:
    def __init__(self, master_key_b64: str):
        key = sealing.decode_key(master_key_b64, MASTER_KEY_ENV)
        self.aead = sealing.Sealer(key)
        # A separate key for MACs, so the encryption key is used for one purpose only.
        self._mac_key = hmac.new(key, b"crm-identity/mac/v1", hashlib.sha256).digest()

    def seal(self, plaintext: bytes, associated_data: str) -> bytes:
        return self.aead.seal(plaintext, associated_data)

    def open(self, sealed: bytes, associated_data: str) -> bytes:
        """Raises SealError when the value or its associated data was altered."""
        return self.aead.open(sealed, associated_data, legacy=Legacy.NONCE_FIRST)

    def mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._mac_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def totp_context(tenant_id: uuid.UUID, user_id: uuid.UUID) -> str:
    return f"totp:{tenant_id}:{user_id}"  # the associated data TOTP secrets always had


def reseal_targets(sealer: Sealer) -> list[ResealTarget]:
    """Signing keys (control schema) and TOTP secrets (tenant schemas), for the re-seal jobs."""
    from crm_identity.tables import signing_keys, users

    async def master(session: AsyncSession, tenant_id: uuid.UUID | None) -> sealing.Sealer:
        return sealer.aead

    def by_kid(row: sa.Row[Any], tenant_id: uuid.UUID | None) -> str:
        return str(row.kid)

    def by_user(row: sa.Row[Any], tenant_id: uuid.UUID | None) -> str:
        assert tenant_id is not None
        return totp_context(tenant_id, row.id)

    return [
        ResealTarget("identity.signing_keys", signing_keys, {"private_jwk_encrypted": by_kid}, Legacy.NONCE_FIRST,
                     master, in_tenant_schema=False),
        ResealTarget("identity.totp", users, {"totp_secret_sealed": by_user, "totp_pending_sealed": by_user},
                     Legacy.NONCE_FIRST, master),
    ]
