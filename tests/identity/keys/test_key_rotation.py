"""Signing-key rotation: a token signed before the rotation still verifies (its key stays in the
JWKS until retired), new tokens carry the new kid, a replica (or `crm rotate-keys`, which only
writes the database) is picked up by the reloader, and retired keys leave the JWKS."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.keys.service import KeyReloader, KeyRing, rotate_signing_keys
from crm_platform.auth import JwksCache, TokenVerifier
from crm_platform.errors import Unauthenticated

ISSUER = "https://crm.test"
AUDIENCE = "crm-api"
TENANT = "0191f1a2-0000-7000-8000-000000000001"


def verifier_for(ring: KeyRing) -> TokenVerifier:
    async def fetch() -> dict[str, object]:
        return ring.jwks()

    # A service's cache: refetches on an unknown kid (no minimum interval in the test).
    return TokenVerifier(JwksCache(fetch, min_refresh_interval=0), ISSUER, AUDIENCE)


def issue(ring: KeyRing) -> str:
    return ring.issue(subject="u", tenant_id=TENANT, client_id="c", scopes=["customers:read"], ttl=900)


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(engine: AsyncEngine,
                                                                           master_key: str) -> None:
    ring = KeyRing(engine, master_key, ISSUER, AUDIENCE)
    await ring.load()
    verifier = verifier_for(ring)
    old_kid = ring.active_kid
    before = issue(ring)
    assert (await verifier.verify(before)).subject == "u"

    new_kid = await ring.rotate(retire_after=timedelta(minutes=20))
    assert new_kid != old_kid and ring.active_kid == new_kid
    published = {k["kid"] for k in ring.jwks()["keys"]}
    assert {old_kid, new_kid} <= published
    assert all("d" not in k for k in ring.jwks()["keys"])  # never a private part
    after = issue(ring)
    assert (await verifier.verify(before)).subject == "u"  # signed before the rotation
    assert (await verifier.verify(after)).subject == "u"  # unknown kid -> the cache refetched
    assert ring.decode(before) is not None and ring.decode(after) is not None
    from joserfc import jws

    assert jws.extract_compact(after.encode()).protected["kid"] == new_kid


async def test_retired_keys_leave_the_jwks(engine: AsyncEngine, master_key: str) -> None:
    ring = KeyRing(engine, master_key, ISSUER, AUDIENCE)
    await ring.load()
    old = issue(ring)
    old_kid = ring.active_kid
    await ring.rotate(retire_after=timedelta(0))  # e.g. a compromised key: retired at once
    assert old_kid not in {k["kid"] for k in ring.jwks()["keys"]}
    assert ring.decode(old) is None
    with pytest.raises(Unauthenticated):
        await verifier_for(ring).verify(old)


async def test_rotation_by_another_process_is_picked_up(engine: AsyncEngine, master_key: str,
                                                         database_url: str) -> None:
    serving = KeyRing(engine, master_key, ISSUER, AUDIENCE)
    await serving.load()
    reloader = KeyReloader(serving, interval=0.2)
    task = asyncio.create_task(reloader.run())
    try:
        before = issue(serving)
        kid, published = await rotate_signing_keys(database_url, master_key, timedelta(minutes=20))
        assert kid in published
        for _ in range(50):
            if serving.active_kid == kid:
                break
            await asyncio.sleep(0.1)
        assert serving.active_kid == kid
        assert serving.decode(before) is not None  # the previous key is still published
    finally:
        reloader.stop()
        await task


async def test_wrong_master_key_changes_nothing(engine: AsyncEngine, master_key: str, database_url: str) -> None:
    import base64
    import secrets

    ring = KeyRing(engine, master_key, ISSUER, AUDIENCE)
    await ring.load()
    kid = ring.active_kid
    with pytest.raises(Exception):  # noqa: B017 - AES-GCM refuses to open the stored key
        await rotate_signing_keys(database_url, base64.b64encode(secrets.token_bytes(32)).decode(), timedelta(0))
    await ring.load()
    assert ring.active_kid == kid


async def test_a_new_key_is_published_before_it_signs(engine: AsyncEngine, master_key: str) -> None:
    """A verifier that fetched the JWKS just before a rotation may not refetch for its minimum
    interval; the new key is published `publish_ahead` before its first token, so that verifier
    can verify the first token signed with it (it refused it when the key signed at once)."""
    ring = KeyRing(engine, master_key, ISSUER, AUDIENCE)
    await ring.load()

    async def fetch() -> dict[str, object]:
        return ring.jwks()

    verifier = TokenVerifier(JwksCache(fetch, min_refresh_interval=0.5), ISSUER, AUDIENCE)
    old_kid = ring.active_kid
    assert (await verifier.verify(issue(ring))).subject == "u"  # the cache is filled now

    new_kid = await ring.rotate(retire_after=timedelta(minutes=20), publish_ahead=timedelta(seconds=0.8))
    assert new_kid in {k["kid"] for k in ring.jwks()["keys"]}  # published at once
    assert ring.active_kid == old_kid  # ... but not signing yet
    assert ring.decode(issue(ring)) is not None
    await asyncio.sleep(0.9)
    assert ring.active_kid == new_kid  # on time, without a reload
    first = issue(ring)
    from joserfc import jws

    assert jws.extract_compact(first.encode()).protected["kid"] == new_kid
    assert (await verifier.verify(first)).subject == "u"
