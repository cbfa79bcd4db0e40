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



async def _accepts(verifier: TokenVerifier, token: str) -> bool:
    try:
        await verifier.verify(token)
    except Unauthenticated:
        return False
    return True


@pytest.mark.parametrize("leeway", [0, 30])
async def test_a_kept_token_answers_as_a_full_verification_at_every_time(
    monkeypatch: pytest.MonkeyPatch, leeway: int
) -> None:
    """A kept token's `exp`, `nbf` and `iat` are compared with the clock directly, not through the
    claims registry: at every second around each of them (the clock moving back included), with and
    without leeway, a kept token is accepted exactly when a verifier that never saw it accepts it,
    and one refused leaves the cache."""
    key = _key()
    keys = Keys(key)
    start = int(time.time())
    tokens = [_token(key, iat=start, exp=start + 100), _token(key, iat=start - 5, nbf=start + 0.5, exp=start + 90.5),
              _token(key, iat=None, nbf=start - 1, exp=start + 10)]
    offsets = [-40, -31, -30, -29, -2, -1, 0, 1, 9, 10, 11, 39, 40, 41, 89, 90, 91, 99, 100, 101, 129, 130, 131]
    for token in tokens:
        for offset in offsets:
            monkeypatch.setattr(time, "time", lambda: start + 1.5)
            kept = TokenVerifier(JwksCache(keys.fetch, min_refresh_interval=0), ISSUER, "crm-api", leeway=leeway)
            assert await _accepts(kept, token)  # verified in full, and kept
            assert token in kept._verified
            monkeypatch.setattr(time, "time", lambda offset=offset: start + offset + 0.25)
            fresh = TokenVerifier(JwksCache(keys.fetch, min_refresh_interval=0), ISSUER, "crm-api", leeway=leeway)
            expected = await _accepts(fresh, token)
            assert await _accepts(kept, token) == expected, (offset, tokens.index(token), leeway)
            assert (token in kept._verified) == expected


async def test_a_kept_token_asks_for_the_key_set_again_once_it_is_stale() -> None:
    """While the key set is fresh a kept token's key is found without fetching; once it is older
    than the cache's ttl the key set is fetched again, and a withdrawn key refuses the token."""
    key, other = _key(), _key()
    keys = Keys(key, other)
    jwks = JwksCache(keys.fetch, ttl=3600, min_refresh_interval=0)
    verifier = TokenVerifier(jwks, ISSUER, "crm-api", leeway=0)
    token = _token(key)
    await verifier.verify(token)
    await verifier.verify(token)
    assert keys.fetches == 1
    keys.keys.remove(key)
    await verifier.verify(token)  # fresh for an hour: not asked again (as before)
    assert keys.fetches == 1
    jwks._fetched_at -= 3601  # the key set is now stale
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)
    assert keys.fetches > 1 and token not in verifier._verified
