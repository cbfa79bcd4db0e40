"""Signing secrets: Standard Webhooks format, and AES-GCM encryption at rest."""

from __future__ import annotations

import base64
import secrets

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import ValidationError

from crm_platform.ids import new_id
from crm_platform.sealing import VERSION
from crm_webhooks.endpoint.secrets import (
    SECRET_PREFIX,
    SecretCipher,
    SecretDecryptionError,
    new_signing_secret,
    parse_service_key,
    signing_key,
)
from crm_webhooks.main import Settings


def test_new_secret_is_whsec_plus_base64_of_24_to_32_bytes() -> None:
    secret = new_signing_secret()
    assert secret.startswith(SECRET_PREFIX)
    assert 24 <= len(signing_key(secret)) <= 32
    assert new_signing_secret() != secret


def test_encryption_round_trips_and_hides_the_secret() -> None:
    cipher = SecretCipher(secrets.token_bytes(32))
    tenant, endpoint = new_id(), new_id()
    secret = new_signing_secret()

    sealed = cipher.encrypt(secret, tenant_id=tenant, endpoint_id=endpoint)

    assert cipher.decrypt(sealed, tenant_id=tenant, endpoint_id=endpoint) == secret
    assert secret.encode() not in sealed
    assert signing_key(secret) not in sealed
    # A fresh nonce each time: the same secret never encrypts to the same bytes.
    assert cipher.encrypt(secret, tenant_id=tenant, endpoint_id=endpoint) != sealed


def test_ciphertext_is_bound_to_its_key_tenant_and_endpoint() -> None:
    key = secrets.token_bytes(32)
    tenant, endpoint = new_id(), new_id()
    sealed = SecretCipher(key).encrypt(new_signing_secret(), tenant_id=tenant, endpoint_id=endpoint)

    with pytest.raises(SecretDecryptionError):
        SecretCipher(secrets.token_bytes(32)).decrypt(sealed, tenant_id=tenant, endpoint_id=endpoint)
    with pytest.raises(SecretDecryptionError):
        SecretCipher(key).decrypt(sealed, tenant_id=new_id(), endpoint_id=endpoint)
    with pytest.raises(SecretDecryptionError):
        SecretCipher(key).decrypt(sealed, tenant_id=tenant, endpoint_id=new_id())
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SecretDecryptionError):
        SecretCipher(key).decrypt(tampered, tenant_id=tenant, endpoint_id=endpoint)


def test_secrets_sealed_before_the_envelope_still_open() -> None:
    """0x01 | nonce | ciphertext, as endpoint secrets were stored before crm_platform/sealing.py;
    migration w0035's job rewrites them, new ones are in the envelope."""
    key = secrets.token_bytes(32)
    tenant, endpoint = new_id(), new_id()
    secret = new_signing_secret()
    nonce = secrets.token_bytes(12)
    old = b"\x01" + nonce + AESGCM(key).encrypt(
        nonce, secret.encode(), f"crm-webhooks/endpoint-secret/{tenant}/{endpoint}".encode())
    cipher = SecretCipher(key)

    assert cipher.decrypt(old, tenant_id=tenant, endpoint_id=endpoint) == secret
    with pytest.raises(SecretDecryptionError):
        cipher.decrypt(old, tenant_id=tenant, endpoint_id=new_id())
    assert cipher.encrypt(secret, tenant_id=tenant, endpoint_id=endpoint)[0] == VERSION


def test_cipher_repr_shows_no_key_material() -> None:
    key = secrets.token_bytes(32)
    assert key.hex() not in repr(SecretCipher(key))


@pytest.mark.parametrize(
    "encoded",
    ["", "not base64!", base64.b64encode(b"short").decode(), base64.b64encode(bytes(33)).decode()],
)
def test_service_key_must_be_base64_of_32_bytes(encoded: str) -> None:
    with pytest.raises(ValueError):
        parse_service_key(encoded)


def test_settings_refuse_a_bad_secret_key_naming_the_variable() -> None:
    with pytest.raises(ValidationError) as failure:
        Settings(database_url="postgresql+psycopg://x/y", identity_addr="x:1", secret_key="short")  # type: ignore[arg-type]
    assert "CRM_WEBHOOKS_SECRET_KEY" in str(failure.value)


def test_settings_hide_the_secret_key() -> None:
    encoded = base64.b64encode(secrets.token_bytes(32)).decode()
    settings = Settings(database_url="postgresql+psycopg://x/y", identity_addr="x:1", secret_key=encoded)  # type: ignore[arg-type]
    assert encoded not in repr(settings)
    assert settings.secret_key_bytes == base64.b64decode(encoded)
