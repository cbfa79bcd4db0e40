"""The one sealing envelope (crm_platform/sealing.py): format, binding to its context, tamper
detection, key rotation and the legacy formats it still reads."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_platform.sealing import HEADER_BYTES, NONCE_BYTES, TAG_BYTES, VERSION, Legacy, Sealer, SealError, key_id

KEY, OTHER = os.urandom(32), os.urandom(32)


def test_the_envelope_is_version_key_id_nonce_ciphertext() -> None:
    sealed = Sealer(KEY).seal(b"secret", "ctx")
    assert sealed[0] == VERSION and sealed[1:HEADER_BYTES] == key_id(KEY)
    assert len(sealed) == HEADER_BYTES + NONCE_BYTES + len(b"secret") + TAG_BYTES
    assert b"secret" not in sealed
    assert Sealer(KEY).seal(b"secret", "ctx") != sealed  # a fresh nonce every time
    assert Sealer(KEY).open(sealed, "ctx") == b"secret"
    assert key_id(KEY) != key_id(OTHER) and KEY[:4] != key_id(KEY)


@pytest.mark.parametrize("damage", [
    lambda s: s[:-1] + bytes([s[-1] ^ 1]),  # ciphertext / tag
    lambda s: s[:HEADER_BYTES] + bytes([s[HEADER_BYTES] ^ 1]) + s[HEADER_BYTES + 1:],  # nonce
    lambda s: bytes([0x01]) + s[1:],  # version
    lambda s: s[:1] + key_id(OTHER) + s[HEADER_BYTES:],  # key id, pointing at another known key
    lambda s: s[:10],  # truncated
    lambda s: b"",
])
def test_any_change_is_detected(damage: object) -> None:
    sealer = Sealer(KEY, OTHER)
    sealed = sealer.seal(b"secret", "ctx")
    with pytest.raises(SealError):
        sealer.open(damage(sealed), "ctx")  # type: ignore[operator]
    with pytest.raises(SealError):
        sealer.open(damage(sealed), "ctx", legacy=Legacy.VERSION_1)  # type: ignore[operator]


def test_a_value_opens_only_in_its_context_and_under_its_key() -> None:
    sealed = Sealer(KEY).seal(b"secret", "tenant-a/user-1")
    with pytest.raises(SealError):
        Sealer(KEY).open(sealed, "tenant-b/user-1")
    with pytest.raises(SealError):
        Sealer(OTHER).open(sealed, "tenant-a/user-1")


def test_rotation_seals_with_the_new_key_and_opens_both() -> None:
    old = Sealer(KEY).seal(b"secret", "ctx")
    rotated = Sealer(OTHER, KEY)
    assert rotated.open(old, "ctx") == b"secret"
    assert not rotated.is_current(old)
    fresh = rotated.reseal(old, "ctx")
    assert fresh is not None and rotated.is_current(fresh) and rotated.open(fresh, "ctx") == b"secret"
    assert rotated.reseal(fresh, "ctx") is None  # nothing to do twice


def test_legacy_formats_open_with_the_same_key_and_context_and_reseal() -> None:
    nonce = os.urandom(12)
    nonce_first = nonce + AESGCM(KEY).encrypt(nonce, b"totp", b"totp:t:u")
    version_1 = b"\x01" + nonce + AESGCM(KEY).encrypt(nonce, b"card", b"crm-customers/t/bank_card")
    sealer = Sealer(KEY)

    assert sealer.open(nonce_first, "totp:t:u", legacy=Legacy.NONCE_FIRST) == b"totp"
    assert sealer.open(version_1, "crm-customers/t/bank_card", legacy=Legacy.VERSION_1) == b"card"
    with pytest.raises(SealError):  # only when asked for
        sealer.open(nonce_first, "totp:t:u")
    with pytest.raises(SealError):  # legacy values stay bound to their context
        sealer.open(nonce_first, "totp:t:other", legacy=Legacy.NONCE_FIRST)
    with pytest.raises(SealError):
        sealer.open(nonce_first[:-1] + bytes([nonce_first[-1] ^ 1]), "totp:t:u", legacy=Legacy.NONCE_FIRST)
    resealed = sealer.reseal(version_1, "crm-customers/t/bank_card", legacy=Legacy.VERSION_1)
    assert resealed is not None and resealed[0] == VERSION
    assert sealer.open(resealed, "crm-customers/t/bank_card") == b"card"


def test_an_old_value_that_happens_to_look_like_an_envelope_still_opens() -> None:
    """identity's old values start with a random nonce: one in 2^40 begins with this sealer's
    header; the envelope then fails its tag and the legacy reading is tried."""
    nonce = bytes([VERSION]) + key_id(KEY) + os.urandom(NONCE_BYTES - HEADER_BYTES)
    old = nonce + AESGCM(KEY).encrypt(nonce, b"signing key", b"kid-1")
    assert Sealer(KEY).open(old, "kid-1", legacy=Legacy.NONCE_FIRST) == b"signing key"


def test_keys_must_be_256_bits_and_never_show() -> None:
    with pytest.raises(ValueError):
        Sealer(b"short")
    assert KEY.hex() not in repr(Sealer(KEY))
