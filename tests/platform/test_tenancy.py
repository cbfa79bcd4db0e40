"""Tenant sessions are bound to their own schema and nothing else."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import migrations
from crm_platform.db import tenant_session
from crm_platform.ids import new_id, tenant_schema

from .conftest import TENANT_TREE, Infra, notes


async def test_rows_written_for_one_tenant_are_invisible_to_another(
    engine: AsyncEngine, tenant: uuid.UUID, infra: Infra
) -> None:
    other = new_id()
    migrations.upgrade_tenant(infra.database_url, TENANT_TREE, other)
    async with tenant_session(engine, tenant) as session:
        await session.execute(sa.insert(notes).values(id=1, body="tenant A's note"))
    async with tenant_session(engine, other) as session:
        assert (await session.execute(sa.select(notes))).all() == []
    async with tenant_session(engine, tenant) as session:
        assert (await session.execute(sa.select(notes.c.body))).scalars().all() == ["tenant A's note"]


async def test_the_table_lives_in_the_tenant_schema(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    async with tenant_session(engine, tenant) as session:
        await session.execute(sa.insert(notes).values(id=7, body="x"))
        schema = (
            await session.execute(
                sa.text(
                    "SELECT table_schema FROM information_schema.tables"
                    " WHERE table_name = 'notes' AND table_schema = :s"
                ),
                {"s": tenant_schema(tenant)},
            )
        ).scalar_one()
    assert schema == tenant_schema(tenant)


async def test_failed_transaction_writes_nothing(engine: AsyncEngine, tenant: uuid.UUID) -> None:
    try:
        async with tenant_session(engine, tenant) as session:
            await session.execute(sa.insert(notes).values(id=1, body="half"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with tenant_session(engine, tenant) as session:
        assert (await session.execute(sa.select(sa.func.count()).select_from(notes))).scalar_one() == 0
