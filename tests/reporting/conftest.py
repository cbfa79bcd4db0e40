"""Fixtures for the reporting tests: a real chDB store (no mocks), shared by the session.

chDB runs one embedded engine per process, bound to one data path, so the whole test session
uses one data directory; tests keep apart the way tenants do, by using fresh tenant ids.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import clickhouse_connect
import pytest

from crm_platform.runtime import ServiceDefinition
from crm_reporting.analytics import Analytics
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.clickhouse_backend import ClickHouseAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.main import ANALYTICS_TABLES, DEFINITION


@pytest.fixture(scope="package")
def service_definition() -> ServiceDefinition:
    """For tests that need reporting's Postgres (tests/support.py `infra`, `engine`, `tenant_id`):
    its tenant tables, such as the owner -> team map of data scope `team`."""
    return DEFINITION


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
async def chdb_analytics(chdb_path: Path) -> AsyncIterator[ChdbAnalytics]:
    analytics = await ChdbAnalytics.open(chdb_path)
    await ensure_schema(analytics, ANALYTICS_TABLES)
    yield analytics
    await analytics.close()


@pytest.fixture(scope="session")
async def clickhouse_connect_analytics(
    chdb_path: Path, chdb_analytics: ChdbAnalytics
) -> AsyncIterator[ClickHouseAnalytics]:
    """ClickHouseAnalytics driven through clickhouse-connect's in-process chDB interface: the
    same client calls as against a server (raw_insert, raw_query with bound parameters,
    command), minus the HTTP transport. No ClickHouse server can be installed here."""
    client = clickhouse_connect.get_client(interface="chdb", path=str(chdb_path))
    analytics = ClickHouseAnalytics(client)
    await ensure_schema(analytics, ANALYTICS_TABLES)
    yield analytics
    await analytics.close()


@pytest.fixture(params=["chdb", "clickhouse_connect"])
def analytics(
    request: pytest.FixtureRequest,
    chdb_analytics: ChdbAnalytics,
    clickhouse_connect_analytics: ClickHouseAnalytics,
) -> Iterator[Analytics]:
    """Each backend in turn: the same behaviour is required of both."""
    yield chdb_analytics if request.param == "chdb" else clickhouse_connect_analytics


@pytest.fixture
def tenant() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def other_tenant() -> uuid.UUID:
    return uuid.uuid4()
