"""Sensitive fields without a database: key wrapping, AES-GCM round trip, blind index, masking,
Luhn, and the master key setting."""

from __future__ import annotations

import base64
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_customers.main import Settings
from crm_customers.sensitive import crypto, values
from crm_customers.sensitive.keys import LocalKeyWrapper, TenantKeys, decode_master_key
from crm_platform.sealing import VERSION, SealError

ID = "11010519491231002X"
MASTER = base64.b64encode(b"m" * 32).decode()


def _luhn_complete(prefix: str) -> str:
    return next(prefix + str(d) for d in range(10) if values.luhn_ok(prefix + str(d)))


def test_round_trip_and_ciphertext_differs_from_plaintext() -> None:
    keys = TenantKeys.generate(uuid.uuid4())
    sealed = crypto.encrypt(keys, "resident_id", ID)
    assert crypto.decrypt(keys, "resident_id", sealed) == ID
    assert ID.encode() not in sealed and ID[:-1].encode() not in sealed
    assert crypto.encrypt(keys, "resident_id", ID) != sealed  # random nonce each time


def test_wrong_tenant_key_or_field_fails() -> None:
    mine, theirs = TenantKeys.generate(uuid.uuid4()), TenantKeys.generate(uuid.uuid4())
    sealed = crypto.encrypt(mine, "resident_id", ID)
    with pytest.raises(SealError):
        crypto.decrypt(theirs, "resident_id", sealed)
    with pytest.raises(SealError):  # same key material under another tenant id (associated data)
        crypto.decrypt(TenantKeys(uuid.uuid4(), mine.data_key), "resident_id", sealed)
    with pytest.raises(SealError):  # moved to another column
        crypto.decrypt(mine, "bank_card", sealed)
    with pytest.raises(SealError):  # altered
        crypto.decrypt(mine, "resident_id", sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_data_key_wrapping_is_bound_to_master_key_and_tenant() -> None:
    wrapper = LocalKeyWrapper(MASTER)
    tenant = str(uuid.uuid4())
    keys = TenantKeys.generate(uuid.UUID(tenant))
    wrapped = wrapper.wrap(keys.data_key, tenant)
    assert keys.data_key not in wrapped
    assert wrapper.unwrap(wrapped, tenant) == keys.data_key
    with pytest.raises(SealError):
        wrapper.unwrap(wrapped, str(uuid.uuid4()))
    with pytest.raises(SealError):
        LocalKeyWrapper(base64.b64encode(b"n" * 32).decode()).unwrap(wrapped, tenant)


def test_values_and_data_keys_written_before_the_envelope_still_open() -> None:
    """Migration c0035's job rewrites them; until then (and for merge snapshots) the old formats
    read: values 0x01 | nonce | ciphertext, data keys nonce | ciphertext, same associated data."""
    keys = TenantKeys.generate(uuid.uuid4())
    nonce = b"\x07" * 12
    old_value = b"\x01" + nonce + AESGCM(keys.data_key).encrypt(
        nonce, ID.encode(), f"crm-customers/{keys.tenant_id}/resident_id".encode())
    assert crypto.decrypt(keys, "resident_id", old_value) == ID
    with pytest.raises(SealError):  # still bound to its field
        crypto.decrypt(keys, "bank_card", old_value)
    tenant = str(keys.tenant_id)
    old_wrapped = nonce + AESGCM(b"m" * 32).encrypt(nonce, keys.data_key, f"crm-customers/data-key/{tenant}".encode())
    assert LocalKeyWrapper(MASTER).unwrap(old_wrapped, tenant) == keys.data_key
    # New writes are in the envelope.
    assert crypto.encrypt(keys, "resident_id", ID)[0] == VERSION
    assert LocalKeyWrapper(MASTER).wrap(keys.data_key, tenant)[0] == VERSION


def test_blind_index_equality_and_tenant_separation() -> None:
    a, b = TenantKeys.generate(uuid.uuid4()), TenantKeys.generate(uuid.uuid4())
    assert crypto.blind_index(a, "resident_id", ID) == crypto.blind_index(a, "resident_id", ID)
    assert crypto.blind_index(a, "resident_id", ID) != crypto.blind_index(b, "resident_id", ID)
    assert crypto.blind_index(a, "resident_id", ID) != crypto.blind_index(a, "bank_card", ID)
    assert crypto.blind_index(a, "resident_id", ID) != crypto.blind_index(a, "resident_id", ID[:-1] + "1")
    assert ID not in crypto.blind_index(a, "resident_id", ID)


@pytest.mark.parametrize("field, normalised, masked", [
    ("resident_id", "110105194912310021", "110***********0021"),
    ("resident_id", "11010519491231002X", "110***********002X"),
    ("bank_card", "6222021234561234", "6222 **** **** 1234"),
    ("bank_card", "6222021234567891234", "6222 **** **** *** 1234"),
    ("bank_card", "622202121234", "6222 **** 1234"),
    ("bank_card", "", ""),
])
def test_masking_table(field: str, normalised: str, masked: str) -> None:
    assert values.mask(field, normalised) == masked


@pytest.mark.parametrize("number, code", [
    ("4111111111111111", None),
    ("4111111111111112", "bank_card_checksum"),
    ("79927398713", "invalid_bank_card"),  # Luhn-valid but 11 digits
    ("799273987130", "bank_card_checksum"),
    ("6222 0212 3456 1234", "invalid_bank_card"),  # not normalised yet
    ("62220212345612345678", "invalid_bank_card"),  # 20 digits
    ("abcd11111111", "invalid_bank_card"),
])
def test_luhn_table(number: str, code: str | None) -> None:
    assert values.bank_card_error(number) == code


def test_luhn_known_values() -> None:
    assert values.luhn_ok("79927398713") and not values.luhn_ok("79927398710")
    assert values.bank_card_error(_luhn_complete("622202123456789")) is None


def test_normalisation() -> None:
    assert values.normalise("bank_card", "６２２２ 0212-3456 1234") == "6222021234561234"
    assert values.normalise("resident_id", " 11010519491231002x ") == ID
    assert values.error("resident_id", ID) is None
    assert values.error("resident_id", "110105194912310021") == "resident_id_checksum"


@pytest.mark.parametrize("value", ["", "not-base64!", base64.b64encode(b"short").decode()])
def test_master_key_must_be_32_bytes_and_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="CRM_CUSTOMERS_MASTER_KEY"):
        decode_master_key(value)


def test_settings_fail_at_start_up_without_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_CUSTOMERS_DATABASE_URL", "postgresql+psycopg://x@127.0.0.1/x")
    monkeypatch.setenv("CRM_CUSTOMERS_IDENTITY_ADDR", "127.0.0.1:1")
    monkeypatch.delenv("CRM_CUSTOMERS_MASTER_KEY", raising=False)
    with pytest.raises(ValueError, match="CRM_CUSTOMERS_MASTER_KEY"):
        Settings()  # type: ignore[call-arg]
    monkeypatch.setenv("CRM_CUSTOMERS_MASTER_KEY", MASTER)
    assert Settings().master_key == MASTER  # type: ignore[call-arg]
