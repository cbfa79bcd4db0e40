"""Key hierarchy: a master key (settings, later a KMS) wraps one random data key per tenant; the
tenant's blind-index key is derived from its data key, so one wrapped secret per tenant suffices.
Both layers seal in the platform's one envelope (crm_platform/sealing.py)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Final, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_platform import sealing
from crm_platform.sealing import Legacy

KEY_BYTES: Final = sealing.KEY_BYTES
MASTER_KEY_ENV: Final = "CRM_CUSTOMERS_MASTER_KEY"


class KeyWrapper(Protocol):
    """Wraps and unwraps tenant data keys. `context` (the tenant id) is bound to the wrapped key,
    so a wrapped key copied to another tenant does not unwrap. A KMS client fits behind this."""

    name: str

    def wrap(self, key: bytes, context: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: str) -> bytes: ...


def decode_master_key(value: str) -> bytes:
    """The master key from its setting; raises ValueError naming the variable when it is unusable."""
    return sealing.decode_key(value, MASTER_KEY_ENV)


def data_key_context(tenant: str) -> str:
    return f"crm-customers/data-key/{tenant}"


class LocalKeyWrapper:
    """AES-256-GCM under a master key held in this process (from settings), in the platform's
    envelope; data keys wrapped before it (nonce | ciphertext) still unwrap. The name is the kind
    of wrapper (`data_keys.wrapper`); the envelope says its own format version."""

    name = "local-aes-gcm-v1"

    def __init__(self, master_key_b64: str):
        self.sealer = sealing.Sealer(decode_master_key(master_key_b64))

    def wrap(self, key: bytes, context: str) -> bytes:
        return self.sealer.seal(key, data_key_context(context))

    def unwrap(self, wrapped: bytes, context: str) -> bytes:
        """Raises SealError for another master key or another tenant's key."""
        return self.sealer.open(wrapped, data_key_context(context), legacy=Legacy.NONCE_FIRST)


@dataclass(frozen=True)
class TenantKeys:
    """One tenant's unwrapped keys: AES-GCM for values, HMAC-SHA256 for the blind index."""

    tenant_id: uuid.UUID
    data_key: bytes

    @functools.cached_property
    def sealer(self) -> sealing.Sealer:
        return sealing.Sealer(self.data_key)

    @property
    def index_key(self) -> bytes:
        return hmac.new(self.data_key, b"crm-customers/blind-index/v1", hashlib.sha256).digest()

    @staticmethod
    def generate(tenant_id: uuid.UUID) -> TenantKeys:
        return TenantKeys(tenant_id, AESGCM.generate_key(bit_length=256))
