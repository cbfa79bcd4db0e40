"""Encrypting one field value and computing its blind index under a tenant's keys."""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_customers.sensitive.keys import NONCE_BYTES, TenantKeys

VERSION: Final = b"\x01"


def _associated(keys: TenantKeys, field: str) -> bytes:
    # Binds a ciphertext to its tenant and field: moved elsewhere, it does not decrypt.
    return f"crm-customers/{keys.tenant_id}/{field}".encode()


def encrypt(keys: TenantKeys, field: str, plaintext: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(keys.data_key).encrypt(nonce, plaintext.encode(), _associated(keys, field))


def decrypt(keys: TenantKeys, field: str, sealed: bytes) -> str:
    """Raises cryptography's InvalidTag under another tenant's key, for another field, or when altered."""
    if sealed[:1] != VERSION:
        raise ValueError("unknown ciphertext version")
    body = sealed[1:]
    return AESGCM(keys.data_key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], _associated(keys, field)).decode()


def blind_index(keys: TenantKeys, field: str, normalised: str) -> str:
    """Deterministic per tenant: equal values give equal indexes, other tenants' indexes differ."""
    return hmac.new(keys.index_key, f"{field}\x00{normalised}".encode(), hashlib.sha256).hexdigest()
