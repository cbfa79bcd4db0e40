"""Identity's secrets written before the platform's sealing envelope (nonce | ciphertext under the
master key): TOTP secrets and signing keys still open, and the `sealing.reseal` jobs migrations
it0035 / i0036 queue rewrite them in the envelope, after which they open as before."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import uuid
from datetime import timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.keys.service import KeyRing
from crm_identity.sealing import Sealer, reseal_targets, totp_context
from crm_identity.tables import signing_keys, users
from crm_identity.users.mfa import Mfa
from crm_platform import jobs, resealing
from crm_platform.db import control_session, tenant_schema, tenant_session
from crm_platform.migrations import _sync_url
from crm_platform.sealing import VERSION
from tests.identity.users.conftest import Security, make_user
from tests.identity.users.test_mfa import enroll, verify

MASTER = os.urandom(32)
MASTER_B64 = base64.b64encode(MASTER).decode()


def nonce_first(plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(MASTER).encrypt(nonce, plaintext, context.encode())


async def run_reseal_jobs(engine: AsyncEngine) -> list[dict[str, object]]:
    resealer = resealing.Resealer(engine, reseal_targets(Sealer(MASTER_B64)))
    results = []
    for job in await jobs.claim(engine, [resealing.JOB_KIND], 10, timedelta(minutes=1)):
        results.append(await resealer.run(job))
        await jobs.complete(engine, job.id)
    return results


async def test_totp_secrets_sealed_the_old_way_verify_and_are_resealed(
    security: Security, tenant_id: uuid.UUID, users_database_url: str,
) -> None:
    sealer = Sealer(MASTER_B64)
    security = dataclasses.replace(security, sealer=sealer, mfa=Mfa(sealer))
    user = await make_user(security.engine, tenant_id)
    totp, _ = await enroll(security, tenant_id, user)
    async with tenant_session(security.engine, tenant_id) as session:
        await session.execute(sa.update(users).where(users.c.id == user.id).values(
            totp_secret_sealed=nonce_first(totp.secret.encode(), totp_context(tenant_id, user.id))))
    security.clock.advance(seconds=30)
    assert await verify(security, tenant_id, user.id, totp.at(security.clock()))  # the old format opens

    with sa.create_engine(_sync_url(users_database_url)).begin() as bind:
        resealing.enqueue_in_migration(bind, "identity.totp", "users", ["totp_secret_sealed", "totp_pending_sealed"],
                                       tenant_schema(tenant_id), tenant_id)
    assert await run_reseal_jobs(security.engine) == [{"target": "identity.totp", "resealed": 1, "failed": 0}]

    async with tenant_session(security.engine, tenant_id) as session:
        stored = (await session.execute(sa.select(users.c.totp_secret_sealed).where(users.c.id == user.id))).scalar()
    assert sealer.aead.is_current(stored) and stored[0] == VERSION
    security.clock.advance(seconds=30)
    assert await verify(security, tenant_id, user.id, totp.at(security.clock()))


async def test_signing_keys_sealed_the_old_way_load_and_are_resealed(
    users_engine: AsyncEngine, users_database_url: str,
) -> None:
    ring = KeyRing(users_engine, MASTER_B64, "https://crm.test", "crm-api")
    kid = await ring.rotate(retire_after=timedelta(0))
    async with control_session(users_engine) as session:
        sealed = (await session.execute(
            sa.select(signing_keys.c.private_jwk_encrypted).where(signing_keys.c.kid == kid))).scalar_one()
        private = Sealer(MASTER_B64).open(sealed, kid)
        await session.execute(sa.update(signing_keys).where(signing_keys.c.kid == kid).values(
            private_jwk_encrypted=nonce_first(private, kid)))
    old_ring = KeyRing(users_engine, MASTER_B64, "https://crm.test", "crm-api")
    await old_ring.load()  # the old format opens
    token = old_ring.issue(subject="client:x", tenant_id=uuid.uuid4(), client_id="x", scopes=[], ttl=60)

    with sa.create_engine(_sync_url(users_database_url)).begin() as bind:
        resealing.enqueue_in_migration(bind, "identity.signing_keys", "signing_keys", ["private_jwk_encrypted"],
                                       "control", None)
    [result] = await run_reseal_jobs(users_engine)
    assert result["target"] == "identity.signing_keys" and int(result["resealed"]) >= 1  # type: ignore[call-overload]

    async with control_session(users_engine) as session:
        stored = (await session.execute(
            sa.select(signing_keys.c.private_jwk_encrypted).where(signing_keys.c.kid == kid))).scalar_one()
    assert Sealer(MASTER_B64).aead.is_current(stored)
    assert json.loads(Sealer(MASTER_B64).open(stored, kid))["kid"] == kid
    new_ring = KeyRing(users_engine, MASTER_B64, "https://crm.test", "crm-api")
    await new_ring.load()
    assert new_ring.active_kid == kid and new_ring.decode(token) is not None
