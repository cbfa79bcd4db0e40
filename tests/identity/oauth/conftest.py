"""Identity's OAuth core against a real embedded PostgreSQL, migrated by identity's own Alembic
trees: a KeyRing, an OAuthService and a fresh tenant (with its admin) per test. No other service
runs: tenants are provisioned in identity's database only."""

from __future__ import annotations

import base64
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import crm_identity
from crm_dev.infra import EmbeddedPostgres, free_port
from crm_identity.keys.service import KeyRing
from crm_identity.oauth.service import OAuthService
from crm_identity.tenants.service import TenantService
from crm_platform import migrations
from crm_platform.db import create_engine

PACKAGE = Path(crm_identity.__file__).parent
CONTROL_TREE = PACKAGE / "migrations" / "control"
TENANT_TREE = PACKAGE / "migrations" / "tenant"
ISSUER = "https://crm.test"
AUDIENCE = "crm-api"
PASSWORD = "Correct-horse-battery-9"
WEB_REDIRECT = "https://crm.test/auth/callback"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    # Outside pytest's basetemp, which a concurrent run may prune.
    root = Path(tempfile.mkdtemp(prefix="crm-identity-pg-"))
    server = EmbeddedPostgres(root / "data", free_port(), root / "postgres.log")
    try:
        server.start()
        server.create_database("crm_identity")
        url = server.url("crm_identity")
        migrations.upgrade_control(url, CONTROL_TREE)
        yield url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def keys(engine: AsyncEngine, master_key: str) -> KeyRing:
    ring = KeyRing(engine, master_key, ISSUER, AUDIENCE)
    await ring.load()
    return ring


@pytest.fixture(scope="session")
def tenants(engine: AsyncEngine, keys: KeyRing, database_url: str) -> TenantService:
    import asyncio

    async def provision(tenant_id: uuid.UUID) -> str:
        return await asyncio.to_thread(migrations.upgrade_tenant, database_url, TENANT_TREE, tenant_id)

    return TenantService(engine, keys, [], provision)


def make_oauth(engine: AsyncEngine, keys: KeyRing, tenants: TenantService, **overrides: object) -> OAuthService:
    values: dict[str, object] = {"token_ttl": 900, "refresh_lifetime": timedelta(days=30),
                                 "refresh_idle": timedelta(days=7), **overrides}
    return OAuthService(engine, keys, tenants, **values)  # type: ignore[arg-type]


@pytest.fixture
async def oauth(engine: AsyncEngine, keys: KeyRing, tenants: TenantService) -> OAuthService:
    service = make_oauth(engine, keys, tenants)
    await service.ensure_web_client([WEB_REDIRECT])
    return service


@dataclass
class Tenant:
    id: uuid.UUID
    slug: str
    email: str


async def _new_tenant(tenants: TenantService) -> Tenant:
    slug = f"t-{secrets.token_hex(5)}"
    email = f"admin@{slug}.example.com"
    row, _ = await tenants.create(
        name=slug.title(), slug=slug, admin_email=email, admin_password=PASSWORD, admin_display_name="Admin",
        default_locale="en",
    )
    return Tenant(row.id, slug, email)


@pytest.fixture
async def tenant(tenants: TenantService) -> Tenant:
    return await _new_tenant(tenants)


@pytest.fixture
async def other_tenant(tenants: TenantService) -> Tenant:
    return await _new_tenant(tenants)
