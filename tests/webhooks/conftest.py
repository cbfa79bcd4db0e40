"""Fixtures for the webhooks service: a real embedded PostgreSQL (the lead's crm_dev.infra), a
tenant schema per test, test settings, and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import crm_webhooks
from crm_dev.infra import EmbeddedPostgres, free_port
from crm_platform import migrations
from crm_platform.db import create_engine
from crm_platform.ids import new_id
from crm_webhooks.main import Components, Settings, build_components
from tests.webhooks.webhooks_testkit import Receiver, receiver_handler

TENANT_TREE = Path(crm_webhooks.__file__).parent / "migrations" / "tenant"


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
def database_url(postgres: EmbeddedPostgres) -> str:
    postgres.create_database("crm_webhooks")
    url = postgres.url("crm_webhooks")
    migrations.upgrade_control(url, None)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


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
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver_handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
