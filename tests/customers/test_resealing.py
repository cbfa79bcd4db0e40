"""Sensitive values and data keys written before the platform's sealing envelope: still read (a
reveal works), and migration c0035's `sealing.reseal` job — queued by the migration's own
`enqueue_in_migration`, claimed and run as the job worker does — rewrites them in the envelope, once;
a tampered value is counted as failed and left alone (crm_platform/resealing.py)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.resealing import DATA_KEYS, SENSITIVE_FIELDS, reseal_targets
from crm_customers.sensitive.service import SensitiveFields
from crm_platform import jobs, resealing
from crm_platform.db import tenant_schema
from crm_platform.migrations import _sync_url
from crm_platform.sealing import VERSION, key_id
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.customers.conftest import MASTER_KEY
from tests.customers.test_sensitive_service import ALL_AND_REVEAL, CARD, ID, _create, _raw_row
from tests.support import Infra

OLD_MASTER = b"k" * 32  # conftest's MASTER_KEY, decoded


def old_format(key: bytes, plaintext: bytes, context: str, *, version_byte: bool) -> bytes:
    nonce = os.urandom(12)
    return (b"\x01" if version_byte else b"") + nonce + AESGCM(key).encrypt(nonce, plaintext, context.encode())


async def run_queued_jobs(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    resealer = resealing.Resealer(engine, reseal_targets(SensitiveFields(LocalKeyWrapper(MASTER_KEY))))
    results = []
    for job in await jobs.claim(engine, [resealing.JOB_KIND], 10, timedelta(minutes=1)):
        assert job.tenant_id == tenant_id
        results.append(await resealer.run(job))
        await jobs.complete(engine, job.id)
    return sorted(results, key=lambda r: str(r["target"]))


def queue_as_the_migration_does(infra: Infra, tenant_id: uuid.UUID) -> None:
    schema = tenant_schema(tenant_id)
    with sa.create_engine(_sync_url(infra.database_url)).begin() as bind:
        resealing.enqueue_in_migration(bind, DATA_KEYS, "data_keys", ["wrapped_key"], schema, tenant_id)
        resealing.enqueue_in_migration(bind, SENSITIVE_FIELDS, "customers", ["resident_id_enc", "bank_card_enc"],
                                       schema, tenant_id)


async def test_old_values_read_and_the_migration_job_reseals_them_once(
    customers: Any, as_user: Any, engine: AsyncEngine, tenant_id: uuid.UUID, infra: Infra,
) -> None:
    schema = tenant_schema(tenant_id)
    queue_as_the_migration_does(infra, tenant_id)  # a fresh tenant: nothing sealed, nothing queued
    assert await run_queued_jobs(engine, tenant_id) == []
    first = await _create(customers, as_user(), resident_id=ID, bank_card=CARD)
    second = await _create(customers, as_user(), resident_id="110105194912310011")
    wrapper = LocalKeyWrapper(MASTER_KEY)
    async with engine.begin() as conn:
        wrapped = (await conn.execute(sa.text(f'SELECT wrapped_key FROM "{schema}".data_keys'))).scalar_one()
        data_key = wrapper.unwrap(bytes(wrapped), str(tenant_id))
        master = wrapper.sealer
        # Rewrite everything as the code before the envelope stored it.
        await conn.execute(sa.text(f'UPDATE "{schema}".data_keys SET wrapped_key = :w'), {"w": old_format(
            OLD_MASTER, data_key, f"crm-customers/data-key/{tenant_id}", version_byte=False)})
        for customer, field, value in ((first, "resident_id", ID), (first, "bank_card", CARD)):
            await conn.execute(sa.text(f'UPDATE "{schema}".customers SET {field}_enc = :v WHERE id = :id'), {
                "id": customer.id,
                "v": old_format(data_key, value.encode(), f"crm-customers/{tenant_id}/{field}", version_byte=True)})
        # An old value altered at rest: it neither opens nor gets rewritten.
        broken = old_format(data_key, b"110105194912310011", f"crm-customers/{tenant_id}/resident_id",
                            version_byte=True)
        broken = broken[:-1] + bytes([broken[-1] ^ 1])
        await conn.execute(sa.text(f'UPDATE "{schema}".customers SET resident_id_enc = :v WHERE id = :id'),
                           {"id": second.id, "v": broken})
    assert master.current_header == bytes([VERSION]) + key_id(OLD_MASTER)  # the same key, a new format

    reveal = pb.RevealCustomerRequest(id=first.id, fields=["resident_id", "bank_card"])
    before = await customers.RevealCustomer(reveal, metadata=as_user(ALL_AND_REVEAL))
    assert dict(before.values) == {"resident_id": ID, "bank_card": CARD}

    queue_as_the_migration_does(infra, tenant_id)
    assert await run_queued_jobs(engine, tenant_id) == [
        {"target": DATA_KEYS, "resealed": 1, "failed": 0},
        {"target": SENSITIVE_FIELDS, "resealed": 1, "failed": 1},
    ]

    row = await _raw_row(engine, tenant_id, first.id)
    async with engine.connect() as conn:
        rewrapped = bytes((await conn.execute(sa.text(f'SELECT wrapped_key FROM "{schema}".data_keys'))).scalar_one())
    assert master.is_current(rewrapped) and wrapper.unwrap(rewrapped, str(tenant_id)) == data_key
    for column in ("resident_id_enc", "bank_card_enc"):
        assert bytes(row[column])[:5] == bytes([VERSION]) + key_id(data_key)
    after = await customers.RevealCustomer(reveal, metadata=as_user(ALL_AND_REVEAL))
    assert dict(after.values) == {"resident_id": ID, "bank_card": CARD}
    assert bytes((await _raw_row(engine, tenant_id, second.id))["resident_id_enc"]) == broken
    # Queued again (a second deploy): a new job finds nothing left to do but the broken value.
    async with engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM control.jobs WHERE kind = :k"), {"k": resealing.JOB_KIND})
    queue_as_the_migration_does(infra, tenant_id)
    assert await run_queued_jobs(engine, tenant_id) == [
        {"target": DATA_KEYS, "resealed": 0, "failed": 0},
        {"target": SENSITIVE_FIELDS, "resealed": 0, "failed": 1},
    ]
