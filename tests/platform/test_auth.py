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
