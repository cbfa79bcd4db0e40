"""Endpoint secrets stored before the platform's sealing envelope (0x01 | nonce | ciphertext): still
used for signing, and migration w0035's `sealing.reseal` job rewrites them in the envelope."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import jobs, resealing
from crm_platform.db import tenant_schema, tenant_session
from crm_platform.migrations import _sync_url
from crm_platform.sealing import VERSION
from crm_webhooks.endpoint.secrets import RESEAL_TARGET, context
from crm_webhooks.endpoint.tables import endpoints
from crm_webhooks.main import Components


async def test_old_secrets_sign_and_are_resealed(engine: AsyncEngine, tenant_id: uuid.UUID, database_url: str,
                                                 components: Components) -> None:
    service = components.endpoint_service
    async with tenant_session(engine, tenant_id) as session:
        created = await service.create(session, tenant_id, url="https://hooks.example.com/crm", event_types=[])
    key = components.settings.secret_key_bytes
    endpoint_id = created.endpoint.id
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, created.secret.encode(), context(tenant_id, endpoint_id).encode())
    old = b"\x01" + nonce + sealed
    async with tenant_session(engine, tenant_id) as session:
        await session.execute(sa.update(endpoints).where(endpoints.c.id == endpoint_id).values(secret_encrypted=old))
        target = await service.delivery_target(session, tenant_id, endpoint_id)
        assert target is not None and target.secret == created.secret

    with sa.create_engine(_sync_url(database_url)).begin() as bind:
        resealing.enqueue_in_migration(bind, RESEAL_TARGET, "endpoints", ["secret_encrypted"],
                                       tenant_schema(tenant_id), tenant_id)
    resealer = resealing.Resealer(engine, service.cipher.reseal_targets())
    [job] = [j for j in await jobs.claim(engine, [resealing.JOB_KIND], 10, timedelta(minutes=1))
             if j.tenant_id == tenant_id]
    assert await resealer.run(job) == {"target": RESEAL_TARGET, "resealed": 1, "failed": 0}

    async with tenant_session(engine, tenant_id) as session:
        stored = (await session.execute(sa.select(endpoints.c.secret_encrypted))).scalar_one()
        assert bytes(stored)[0] == VERSION and service.cipher.sealer.is_current(bytes(stored))
        target = await service.delivery_target(session, tenant_id, endpoint_id)
        assert target is not None and target.secret == created.secret
