"""Identity's user-security code against a real PostgreSQL (started for this session, migrated by
identity's Alembic trees), with a fresh active tenant per test and a clock the test moves by hand."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

import crm_identity
from crm_dev.infra import EmbeddedPostgres, free_port
from crm_identity.sealing import Sealer
from crm_identity.tables import tenant_directory
from crm_identity.users import service as user_service
from crm_identity.users.account import AccountSecurity
from crm_identity.users.login import LoginSecurity
from crm_identity.users.mfa import Mfa
from crm_platform import migrations
from crm_platform.db import control_session, create_engine, tenant_session
from crm_platform.ids import new_id

PACKAGE = Path(crm_identity.__file__).parent
PASSWORD = "Quiet-harbour-lamp-7"


@pytest.fixture(scope="session")
def users_database_url() -> Iterator[str]:
    root = Path(tempfile.mkdtemp(prefix="crm-identity-users-tests-"))
    postgres = EmbeddedPostgres(root / "pg", free_port(), root / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("crm_identity")
        url = postgres.url("crm_identity")
        migrations.upgrade_control(url, PACKAGE / "migrations" / "control")
        yield url
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest_asyncio.fixture(scope="session")
async def users_engine(users_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(users_database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def tenant_id(users_database_url: str, users_engine: AsyncEngine) -> uuid.UUID:
    """A fresh, migrated, active tenant per test."""
    tenant = new_id()
    migrations.upgrade_tenant(users_database_url, PACKAGE / "migrations" / "tenant", tenant)
    async with control_session(users_engine) as session:
        await session.execute(sa.insert(tenant_directory).values(
            id=tenant, slug=f"t-{secrets.token_hex(5)}", name="Test", status="active", default_locale="en",
        ))
    return tenant


class Clock:
    """The time the code under test sees; tests move it with `advance`."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Security:
    engine: AsyncEngine
    clock: Clock
    sealer: Sealer
    mfa: Mfa
    login: LoginSecurity
    account: AccountSecurity


@pytest.fixture
def security(users_engine: AsyncEngine) -> Security:
    clock = Clock()
    sealer = Sealer(base64.b64encode(os.urandom(32)).decode())
    mfa = Mfa(sealer)
    return Security(users_engine, clock, sealer, mfa, LoginSecurity(users_engine, mfa, clock),
                    AccountSecurity(users_engine, mfa, clock))


async def make_user(
    engine: AsyncEngine, tenant: uuid.UUID, email: str = "rep@example.com", *, roles: list[str] | None = None,
    must_change_password: bool = False, password: str = PASSWORD,
) -> Any:
    async with tenant_session(engine, tenant) as session:
        return await user_service.create_user(
            session, email, password, "Rep", roles or ["sales_rep"], must_change_password=must_change_password
        )
