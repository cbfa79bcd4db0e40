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
    # Each cell opens exactly its customers in the list.
    it_won = next(c for c in result.cells if c.keys == ("IT",) and c.column_key == "won")
    assert dict(it_won.filter) == {"industry": "IT", "status": "won"}
    zh = await run(engine, chdb_analytics, who(world.tenant), {
        "object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"}}, locale="zh-CN")
    assert zh.rows[0].label == "行业" and "成交客户" in zh.column_values and zh.measures[0].label == "客户数"


async def test_scope_policies_and_money(engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World) -> None:
    definition = {"object": "customers", "rows": [{"field": "region", "level": 1}, {"field": "industry"}],
                  "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}]}
    everyone = cells(await run(engine, chdb_analytics, who(world.tenant), definition))
    # c1: 1000 + 250.50 CNY paid (the cancelled 99 is not spend); c3: 500; c2 only USD.
    assert everyone[("华北", "IT", None)] == (1, Decimal("1250.50"))
    assert everyone[("华北", None, None)] == (2, Decimal("1750.50"))
    assert everyone[(None, None, None)] == (3, Decimal("1750.50"))
    own = cells(await run(engine, chdb_analytics, who(world.tenant, scope="own", user=REP_B), definition))
    assert own[(None, None, None)] == (1, Decimal("500.00"))
    assert set(own) == {("华北", "retail", None), ("华北", None, None), (None, None, None)}
    # Customer service: the money measure is dropped, the count stays.
    service = await run(engine, chdb_analytics, who(world.tenant, lifetime_value="hidden"), definition)
    assert service.omitted_fields == ("lifetime_value",) and [m.key for m in service.measures] == ["count"]
    with pytest.raises(PermissionDenied) as refused:
        await run(engine, chdb_analytics, who(world.tenant, industry="masked"), definition)
    assert refused.value.extra["fields"] == ["industry"]
    with pytest.raises(PermissionDenied):
        await run(engine, chdb_analytics, who(world.tenant, lifetime_value="hidden"),
                  {**definition, "measures": [{"agg": "sum", "field": "lifetime_value"}]})


async def test_orders_top_n_conversion_and_time(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                world: World) -> None:
    orders = await run(engine, chdb_analytics, who(world.tenant), {
        "object": "orders", "rows": [{"field": "industry"}], "column": {"field": "currency"},
        "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}, {"agg": "distinct_customers"}],
        "filters": [{"field": "order_status", "op": "in", "values": ["paid", "confirmed"]}]})
    found = cells(orders)
    # c4 is deleted: its order is not counted; c2's USD order counts but not as CNY money.
    assert found[("IT", "CNY")] == (2, Decimal("1250.50"), 1)
    assert found[("IT", "USD")] == (1, Decimal("0.00"), 1)
    assert found[(None, None)] == (4, Decimal("1750.50"), 3)
    top = cells(await run(engine, chdb_analytics, who(world.tenant), {
        "object": "customers", "rows": [{"field": "region"}], "top_n": 1}))
    assert top[("华北", None)] == (2,) and top[(report_engine.OTHERS_KEY, None)] == (1,)
    conversion = cells(await run(engine, chdb_analytics, who(world.tenant), {
        "object": "customers", "rows": [{"field": "owner"}],
        "measures": [{"agg": "count"}, {"agg": "conversion", "from": "potential", "to": "won"}]}))
    assert conversion[(REP_A, None)] == (2, Decimal("0.5000"))  # c1 potential -> won; c2 still potential
    monthly = await run(engine, chdb_analytics, who(world.tenant), {
        "object": "customers", "rows": [{"field": "created_at", "bucket": "month"}],
        "time_range": {"range": "3m"}})
    month = TODAY.replace(day=1).isoformat()
    assert cells(monthly)[(month, None)] == (1,)  # c2 (c1 and c3 are older than 3 months)
    segments = cells(await run(engine, chdb_analytics, who(world.tenant), {
        "object": "customers", "rows": [{"field": "value_segment"}]}))
    assert sum(v[0] for k, v in segments.items() if k[0] is not None) == 3


async def test_cell_limit_and_validation(engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_engine, "MAX_CELLS", 3)
    with pytest.raises(InvalidInput) as refused:
        await run(engine, chdb_analytics, who(world.tenant), {
            "object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"}})
    assert refused.value.errors[0].code == "too_many_cells" and refused.value.extra["cells"] == 4
    with pytest.raises(InvalidInput) as bad:
        check_definition({"object": "customers", "rows": [{"field": "nope"}, {"field": "industry"},
                                                          {"field": "industry"}, {"field": "status"}]})
    assert [(e.field, e.code) for e in bad.value.errors] == [("rows", "too_many")]
    with pytest.raises(InvalidInput) as bad:
        check_definition({"object": "customers", "rows": [{"field": "nope"}, {"field": "created_at", "bucket": "x"}],
                          "measures": [{"agg": "sum", "field": "industry"}, {"agg": "conversion", "from": "won",
                                                                            "to": "won"}],
                          "chart": "radar", "surprise": 1})
    assert {(e.field, e.code) for e in bad.value.errors} == {
        ("surprise", "unknown_field"), ("rows[0].field", "unknown_dimension"), ("rows[1].bucket", "invalid_choice"),
        ("measures[0].field", "not_numeric"), ("measures[1].to", "invalid_choice"), ("chart", "invalid_choice")}
    with pytest.raises(InvalidInput) as bad:
        check_definition({"object": "orders", "measures": [{"agg": "conversion", "from": "potential", "to": "won"}]})
    assert bad.value.errors[0].code == "not_available"


async def test_templates_run(engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World) -> None:
    from crm_reporting.reports.templates import TEMPLATES

    for template in TEMPLATES.values():
        result = await run(engine, chdb_analytics, who(world.tenant), template.definition)
        assert result.cells, template.key


async def test_underlying_rows(engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World) -> None:
    import asyncio

    definition = check_definition({"object": "customers", "rows": [{"field": "industry"}],
                                   "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}]})
    async with tenant_session(engine, world.tenant) as session:
        rows = await report_engine.underlying_rows(chdb_analytics, session, who(world.tenant), RunRequest(
            definition, locale="zh-CN", time_zone="Asia/Shanghai", today=TODAY))
        listed = await asyncio.to_thread(lambda: list(rows.rows))
    assert list(rows.columns) == ["客户", "客户名称", "行业", "累计消费额"]
    by_id = {r[0]: r for r in listed}
    assert len(listed) == 3 and by_id[str(world.c1)][1:] == ["甲公司", "IT", Decimal("1250.50")]
    assert by_id[str(world.c2)][3] == Decimal("0")
    async with tenant_session(engine, world.tenant) as session:
        hidden = await report_engine.underlying_rows(chdb_analytics, session, who(world.tenant, name="hidden"),
                                                     RunRequest(definition))
        assert "Customer name" not in hidden.columns
        with pytest.raises(RuntimeError):
            list(hidden.rows)  # on the event loop: refused, never a deadlock


async def test_region_levels_on_orders_through_the_customer(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                            world: World) -> None:
    """Level 1 reads the projection's first region segment (`region_top`) through the order's
    customer; level 2 the split path. The deleted customer's order (西南) is not counted."""
    definition = {"object": "orders", "rows": [{"field": "region", "level": 1}], "measures": [{"agg": "count"}],
                  "filters": [{"field": "order_status", "op": "in", "values": ["confirmed", "paid"]}]}
    top = cells(await run(engine, chdb_analytics, who(world.tenant), definition))
    assert top == {("华北", None): (3,), ("华东", None): (1,), (None, None): (4,)}
    second = cells(await run(engine, chdb_analytics, who(world.tenant),
                             {**definition, "rows": [{"field": "region", "level": 2}]}))
    assert second == {("华北/北京", None): (2,), ("华北/天津", None): (1,), ("华东", None): (1,), (None, None): (4,)}
