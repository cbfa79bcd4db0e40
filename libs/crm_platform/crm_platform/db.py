"""Async SQLAlchemy 2 on psycopg 3, and the one tenancy session helper.

Tenant tables are declared with `schema=TENANT`; a tenant session maps that placeholder to the
tenant's real schema with `schema_translate_map`, so a pooled connection never carries one
tenant's search_path into another's request. Control tables use `schema=CONTROL` as is.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from crm_platform.ids import tenant_schema

TENANT = "tenant"
CONTROL = "control"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Set when a transaction that wrote outbox rows commits in this process; the relay waits on it.
outbox_committed = asyncio.Event()
# Set when a transaction that queued mail commits in this process; the mail sender waits on it.
mail_committed = asyncio.Event()


def signal_commit(info: dict[str, object]) -> None:
    """Wakes the relay / mail sender after a commit whose session wrote to their tables
    (`session.info` flags set by `outbox.add_event` and `mail.Mailer.queue`)."""
    if info.get("outbox_written"):
        outbox_committed.set()
    if info.get("mail_queued"):
        mail_committed.set()


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def tenant_engine(engine: AsyncEngine, tenant_id: uuid.UUID | str) -> AsyncEngine:
    return engine.execution_options(schema_translate_map={TENANT: tenant_schema(tenant_id)})


@asynccontextmanager
async def tenant_session(engine: AsyncEngine, tenant_id: uuid.UUID | str) -> AsyncIterator[AsyncSession]:
    """A session bound to one tenant's schema, inside a transaction that commits on success and
    rolls back on error. Only edges (RPC handlers, event handlers, job runners) open one."""
    async with AsyncSession(tenant_engine(engine, tenant_id), expire_on_commit=False) as session:
        async with session.begin():
            yield session
        signal_commit(session.info)


@asynccontextmanager
async def control_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for service-wide tables only (outbox, inbox, jobs, tenant registry)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        async with session.begin():
            yield session
        signal_commit(session.info)
