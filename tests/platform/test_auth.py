"""Token verification: signature, expiry, audience, issuer, type, unknown keys and rotation."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from crm_platform.auth import JwksCache, Scope, TokenVerifier
from crm_platform.errors import PermissionDenied, Unauthenticated

ISSUER = "http://issuer.test"


def _key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


def _token(key: ECKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "crm-api",
        "sub": "u1",
        "client_id": "c1",
        "tid": str(uuid.uuid4()),
        "scope": "customers:read",
        "iat": now,
        "exp": now + 300,
    }
    header = {"alg": "ES256", "kid": key.kid, "typ": overrides.pop("typ", "at+jwt")}
    claims.update(overrides)
    return jwt.encode(header, {k: v for k, v in claims.items() if v is not None}, key, algorithms=["ES256"])


class Keys:
    def __init__(self, *keys: ECKey):
        self.keys = list(keys)
        self.fetches = 0

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        return {"keys": [k.as_dict(private=False) for k in self.keys]}


def _verifier(keys: Keys) -> TokenVerifier:
    return TokenVerifier(JwksCache(keys.fetch, min_refresh_interval=0), ISSUER, "crm-api", leeway=0)


async def test_valid_token_gives_the_principal() -> None:
    key = _key()
    principal = await _verifier(Keys(key)).verify(_token(key))
    assert principal.scopes == frozenset({"customers:read"}) and principal.client_id == "c1"
    principal.require(Scope.CUSTOMERS_READ)
    with pytest.raises(PermissionDenied):
        principal.require(Scope.CUSTOMERS_WRITE)


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 10},
        {"aud": "another-api"},
        {"iss": "http://evil.test"},
        {"tid": None},
        {"typ": "JWT"},
    ],
)
async def test_rejected_tokens(overrides: dict[str, Any]) -> None:
    key = _key()
    with pytest.raises(Unauthenticated):
        await _verifier(Keys(key)).verify(_token(key, **overrides))


async def test_token_signed_by_another_key_with_a_known_kid_is_rejected() -> None:
    key, forger = _key(), _key()
    forger_kid = forger.kid
    forged = _token(forger)
    assert forger_kid != key.kid
    with pytest.raises(Unauthenticated):
        await _verifier(Keys(key)).verify(forged)
    tampered = _token(key).rsplit(".", 1)[0] + "." + forged.rsplit(".", 1)[1]
    with pytest.raises(Unauthenticated):
        await _verifier(Keys(key)).verify(tampered)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "abc",
        "a.b.c",
        "eyJhbGciOiJub25lIn0.e30.",
        "eyJ0eXAiOjUsImFsZyI6IkVTMjU2In0.e30.c2ln",  # {"typ": 5, ...}: not a string
        "eyJ0eXAiOiJhdCtqd3QiLCJraWQiOls1XX0.e30.c2ln",  # {"typ": "at+jwt", "kid": [5]}
        "W10.e30.c2ln",  # header is a JSON list
    ],
)
async def test_garbage_is_unauthenticated_not_an_error(garbage: str) -> None:
    with pytest.raises(Unauthenticated):
        await _verifier(Keys(_key())).verify(garbage)


async def test_rotated_key_is_fetched_when_a_token_names_it() -> None:
    old, new = _key(), _key()
    keys = Keys(old)
    verifier = _verifier(keys)
    await verifier.verify(_token(old))
    keys.keys.append(new)
    await verifier.verify(_token(new))
    assert keys.fetches == 2
    await verifier.verify(_token(old))  # old key still published until its tokens expire


# -- verified tokens kept per process ---------------------------------------------------------------


class CountingVerifier(TokenVerifier):
    """Counts full (signature) verifications."""

    signature_checks = 0

    async def _verify_signature(self, raw: str) -> Any:
        self.signature_checks += 1
        return await super()._verify_signature(raw)


def _counting(keys: Keys, **options: Any) -> CountingVerifier:
    return CountingVerifier(JwksCache(keys.fetch, min_refresh_interval=0), ISSUER, "crm-api", leeway=0, **options)


async def test_a_token_is_checked_once_and_then_served_from_the_cache() -> None:
    key = _key()
    verifier = _counting(Keys(key))
    token = _token(key)
    first = await verifier.verify(token)
    assert await verifier.verify(token) is first and await verifier.verify(token) is first
    assert verifier.signature_checks == 1


async def test_a_kept_token_stops_working_when_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    key = _key()
    verifier = _counting(Keys(key))
    token = _token(key, exp=int(time.time()) + 60)
    await verifier.verify(token)
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)
    with pytest.raises(Unauthenticated):  # and is checked in full again, failing again
        await verifier.verify(token)
    assert verifier.signature_checks == 2


async def test_a_kept_token_is_refused_once_its_key_is_withdrawn() -> None:
    """A withdrawn key (no longer in identity's JWKS after a refresh) invalidates tokens it signed,
    as a full verification would; its replacement keeps working."""
    old, new = _key(), _key()
    keys = Keys(old, new)
    verifier = TokenVerifier(JwksCache(keys.fetch, ttl=0, min_refresh_interval=0), ISSUER, "crm-api", leeway=0)
    by_old, by_new = _token(old), _token(new)
    await verifier.verify(by_old)
    await verifier.verify(by_new)
    keys.keys.remove(old)
    with pytest.raises(Unauthenticated):
        await verifier.verify(by_old)
    assert (await verifier.verify(by_new)).client_id == "c1"


async def test_refused_tokens_are_not_kept_and_the_cache_is_bounded() -> None:
    key, forger = _key(), _key()
    verifier = _counting(Keys(key), cache_size=3)
    forged = _token(forger)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await verifier.verify(forged)
    assert verifier.signature_checks == 2 and len(verifier._verified) == 0
    tokens = [_token(key, sub=f"u{i}") for i in range(5)]
    for token in tokens:
        await verifier.verify(token)
    assert len(verifier._verified) == 3
    await verifier.verify(tokens[0])  # evicted (least recently used): checked again
    assert verifier.signature_checks == 2 + 5 + 1
