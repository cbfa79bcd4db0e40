"""Sealing secrets under identity's master key: AES-256-GCM with a random 96-bit nonce and
associated data that binds a ciphertext to what it belongs to (a key id, a user), so a sealed
value copied onto another row does not open. Used for token signing keys (`keys/`) and TOTP
secrets (`users/mfa.py`). Also keyed hashes (HMAC-SHA256 under a key derived from the master
key) for short secrets stored only to be compared, such as recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES: Final = 12


class Sealer:
    def __init__(self, master_key_b64: str):
        key = base64.b64decode(master_key_b64)
        self._aead = AESGCM(key)
        # A separate key for MACs, so the encryption key is used for one purpose only.
        self._mac_key = hmac.new(key, b"crm-identity/mac/v1", hashlib.sha256).digest()

    def seal(self, plaintext: bytes, associated_data: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated_data.encode())

    def open(self, sealed: bytes, associated_data: str) -> bytes:
        """Raises cryptography's InvalidTag when the value or its associated data was altered."""
        return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated_data.encode())

    def mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._mac_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
