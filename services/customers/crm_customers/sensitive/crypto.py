"""Encrypting one field value and computing its blind index under a tenant's keys. Values are
sealed in the platform's one envelope (crm_platform/sealing.py) under the tenant's data key, bound
to the tenant and field; values written before it (0x01 | nonce | ciphertext) still open and are
rewritten by the re-seal job of migration c0035 (`reseal_targets`)."""

from __future__ import annotations

import hashlib
import hmac

from crm_customers.sensitive.keys import TenantKeys
from crm_platform.sealing import Legacy


def context(keys: TenantKeys, field: str) -> str:
    # Binds a ciphertext to its tenant and field: moved elsewhere, it does not open.
    return f"crm-customers/{keys.tenant_id}/{field}"


def encrypt(keys: TenantKeys, field: str, plaintext: str) -> bytes:
    return keys.sealer.seal(plaintext.encode(), context(keys, field))


def decrypt(keys: TenantKeys, field: str, sealed: bytes) -> str:
    """Raises SealError under another tenant's key, for another field, or when altered."""
    return keys.sealer.open(sealed, context(keys, field), legacy=Legacy.VERSION_1).decode()


def blind_index(keys: TenantKeys, field: str, normalised: str) -> str:
    """Deterministic per tenant: equal values give equal indexes, other tenants' indexes differ."""
    return hmac.new(keys.index_key, f"{field}\x00{normalised}".encode(), hashlib.sha256).hexdigest()
