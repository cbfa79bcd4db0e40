"""Fixtures for the webhooks service: a real embedded PostgreSQL (the lead's crm_dev.infra), a
tenant schema per test, test settings, and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import crm_webhooks
from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_platform import migrations
from crm_platform.db import control_session, create_engine
from crm_platform.ids import new_id
from crm_platform.tables import jobs
from crm_webhooks.dispatch.tables import webhook_lanes, webhook_queue
from crm_webhooks.main import Components, Settings, build_components
from tests.webhooks.webhooks_testkit import Receiver, ReceiverServer

TENANT_TREE = Path(crm_webhooks.__file__).parent / "migrations" / "tenant"
CONTROL_TREE = Path(crm_webhooks.__file__).parent / "migrations" / "control"


# -- PostgreSQL ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres() -> Iterator[EmbeddedPostgres]:
    # Not under pytest's basetemp: pytest prunes all but the newest three basetemp folders, so
    # another engineer's concurrent run may delete ours while the server uses it.
    root = Path(tempfile.mkdtemp(prefix="crm-webhooks-pg-"))
    server = EmbeddedPostgres(root / "data", free_port(), root / "postgres.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    """A real NATS JetStream, for the tests that run the service as a process."""
    root = Path(tempfile.mkdtemp(prefix="crm-webhooks-nats-"))
    server = NatsServer(root / "store", free_port(), root / "nats.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres: EmbeddedPostgres) -> str:
    postgres.create_database("crm_webhooks")
    url = postgres.url("crm_webhooks")
    migrations.upgrade_control(url, CONTROL_TREE)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def empty_queue(engine: AsyncEngine) -> AsyncIterator[None]:
    """The delivery queue and job table are service-wide: a test that runs a dispatcher starts and
    ends with them empty, so it sends only what it queued itself."""
    await clear_queue(engine)
    yield
    await clear_queue(engine)


async def clear_queue(engine: AsyncEngine) -> None:
    async with control_session(engine) as session:
        await session.execute(sa.delete(webhook_queue))
        await session.execute(sa.delete(webhook_lanes))
        await session.execute(sa.delete(jobs).where(jobs.c.kind.like("webhook.%")))


@pytest.fixture
def new_tenant(database_url: str) -> Callable[[], uuid.UUID]:
    """Makes a tenant schema, migrated by the service's own Alembic tree."""

    def make() -> uuid.UUID:
        tenant = new_id()
        migrations.upgrade_tenant(database_url, TENANT_TREE, tenant)
        return tenant

    return make


@pytest.fixture
def tenant_id(new_tenant: Callable[[], uuid.UUID]) -> uuid.UUID:
    """A fresh tenant schema per test."""
    return new_tenant()


# -- settings and components ----------------------------------------------------------------
def make_settings(database_url: str = "postgresql+psycopg://unused/unused", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "identity_addr": "127.0.0.1:1",
        "secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "allow_private_targets": True,
        "retry_schedule": "0.2,0.2,0.2",
        "page_token_key": "test-page-token-key",
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def components(settings: Settings) -> Components:
    return build_components(settings)


@pytest.fixture
def receivers() -> Iterator[Callable[[], Receiver]]:
    """Makes real HTTP receivers on 127.0.0.1, stopped after the test."""
    servers: list[ReceiverServer] = []

    def make() -> Receiver:
        servers.append(ReceiverServer(Receiver()).start())
        return servers[-1].receiver

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def receiver(receivers: Callable[[], Receiver]) -> Receiver:
    return receivers()
