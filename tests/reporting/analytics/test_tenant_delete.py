"""Offboarding's tenant-scoped delete, on both analytics backends: one tenant's rows go, every
other tenant's stay, and the statement can only ever name the tenant it was built with."""

from __future__ import annotations

import json
import uuid

import pytest

from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.analytics.query import TenantDelete
from crm_reporting.event_log.tables import EVENTS
from crm_reporting.offboarding import tenant_data
from tests.reporting.analytics.test_analytics_backends import event_row


async def _count(analytics: Analytics, tenant: uuid.UUID) -> int:
    rows = await analytics.query(TenantQuery(EVENTS, tenant).select("count() AS n"))
    return int(rows[0]["n"])


async def test_delete_removes_one_tenant_only(analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID) -> None:
    await analytics.insert(EVENTS, [event_row(tenant, f"e{i}") for i in range(3)])
    await analytics.insert(EVENTS, [event_row(other_tenant, "kept")])
    await analytics.delete_tenant(TenantDelete(EVENTS, tenant))
    assert await _count(analytics, tenant) == 0
    assert await _count(analytics, other_tenant) == 1
    # Idempotent.
    await analytics.delete_tenant(TenantDelete(EVENTS, tenant))
    assert await _count(analytics, other_tenant) == 1


def test_the_delete_statement_binds_the_tenant() -> None:
    tenant = uuid.uuid4()
    built = TenantDelete(EVENTS, tenant).build()
    assert built.sql.startswith("ALTER TABLE events DELETE WHERE tenant_id = {tenant_id:UUID}")
    assert str(tenant) not in built.sql
    assert built.params == {"tenant_id": tenant}
    with pytest.raises(TypeError):
        TenantDelete(EVENTS, str(tenant))  # type: ignore[arg-type]


async def test_offboarding_hook_exports_pages_then_erases(
    analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    await analytics.insert(EVENTS, [event_row(tenant, f"e{i}") for i in range(5)])
    await analytics.insert(EVENTS, [event_row(other_tenant, "kept")])
    hook = tenant_data(analytics, (EVENTS,))  # type: ignore[arg-type]
    assert await hook.tables(tenant) == [("clickhouse.events", 5)]
    first = await hook.export(tenant, "clickhouse.events", 0, 3)
    rest = await hook.export(tenant, "clickhouse.events", 3, 3)
    assert len(first) == 3 and len(rest) == 2
    assert {json.loads(line)["event_id"] for line in first + rest} == {f"e{i}" for i in range(5)}
    assert await hook.erase(tenant) == {"clickhouse.events": 5}
    assert await hook.tables(tenant) == [("clickhouse.events", 0)]
    assert await _count(analytics, other_tenant) == 1
