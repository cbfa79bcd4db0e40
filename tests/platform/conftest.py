"""Real PostgreSQL and NATS JetStream, started once for the platform library's tests."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_platform import events, migrations
from crm_platform.db import TENANT, create_engine, new_metadata
from crm_platform.ids import new_id

TENANT_TREE = Path(__file__).parent / "tenant_tree"

# A tenant table for these tests only (created by tests/tenant_tree).
metadata = new_metadata()
notes = sa.Table(
    "notes", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text), schema=TENANT
)
# What scheduler test handlers write: one row per firing (no unique key, so a double fire shows).
fired = sa.Table(
    "fired", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("schedule_key", sa.Text),
    sa.Column("occurrence_at", sa.DateTime(timezone=True)),
    sa.Column("fired_by", sa.Text),
    sa.Column("fired_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)


@dataclass
class Infra:
    postgres: EmbeddedPostgres
    nats: NatsServer
    database_url: str


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    root = Path(tempfile.mkdtemp(prefix="crm-platform-tests-"))
    postgres = EmbeddedPostgres(root / "pg", free_port(), root / "postgres.log")
    nats_server = NatsServer(root / "nats", free_port(), root / "nats.log")
    postgres.start()
    nats_server.start()
    postgres.create_database("platform_tests")
    url = postgres.url("platform_tests")
    migrations.upgrade_control(url, None)
    try:
        yield Infra(postgres, nats_server, url)
    finally:
        nats_server.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(infra.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def tenant(infra: Infra) -> uuid.UUID:
    """A fresh, migrated tenant schema for one test."""
    tenant_id = new_id()
    migrations.upgrade_tenant(infra.database_url, TENANT_TREE, tenant_id)
    return tenant_id


@pytest.fixture
async def nc(infra: Infra) -> AsyncIterator[NATS]:
    client = await events.connect(infra.nats.url, "platform-tests")
    await events.ensure_stream(client.jetstream())
    yield client
    await client.close()


def metric(reader: InMemoryMetricReader, name: str) -> list[Any]:
    """The data points recorded for the instrument `name` (OpenTelemetry in-memory reader)."""
    data = reader.get_metrics_data()
    points: list[Any] = []
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for m in scope.metrics:
                if m.name == name:
                    points += list(m.data.data_points)
    return points
