"""Key hierarchy: a master key (settings, later a KMS) wraps one random data key per tenant; the
tenant's blind-index key is derived from its data key, so one wrapped secret per tenant suffices."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
MASTER_KEY_ENV: Final = "CRM_CUSTOMERS_MASTER_KEY"


class KeyWrapper(Protocol):
    """Wraps and unwraps tenant data keys. `context` (the tenant id) is bound to the wrapped key,
    so a wrapped key copied to another tenant does not unwrap. A KMS client fits behind this."""

    name: str

    def wrap(self, key: bytes, context: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: str) -> bytes: ...


def decode_master_key(value: str) -> bytes:
    """The master key from its setting; raises ValueError naming the variable when it is unusable."""
    try:
        key = base64.b64decode(value, validate=True) if value else b""
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ValueError(f"{MASTER_KEY_ENV} must be set to the base64 of 32 random bytes")
    return key


class LocalKeyWrapper:
    """AES-256-GCM under a master key held in this process (from settings)."""

    name = "local-aes-gcm-v1"

    def __init__(self, master_key_b64: str):
        self._aead = AESGCM(decode_master_key(master_key_b64))

    def wrap(self, key: bytes, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key, f"crm-customers/data-key/{context}".encode())

    def unwrap(self, wrapped: bytes, context: str) -> bytes:
        """Raises cryptography's InvalidTag for another master key or another tenant's key."""
        return self._aead.decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], f"crm-customers/data-key/{context}".encode()
        )


@dataclass(frozen=True)
class TenantKeys:
    """One tenant's unwrapped keys: AES-GCM for values, HMAC-SHA256 for the blind index."""

    tenant_id: uuid.UUID
    data_key: bytes

    @property
    def index_key(self) -> bytes:
        return hmac.new(self.data_key, b"crm-customers/blind-index/v1", hashlib.sha256).digest()

    @staticmethod
    def generate(tenant_id: uuid.UUID) -> TenantKeys:
        return TenantKeys(tenant_id, AESGCM.generate_key(bit_length=256))
