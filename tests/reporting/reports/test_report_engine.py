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
from tests.reporting.followups.events import FollowupWorld


@pytest.fixture
async def world(chdb_analytics: ChdbAnalytics, tenant_id: uuid.UUID, other_tenant: uuid.UUID) -> World:
    built, noise = World(tenant_id), World(other_tenant)
    projector = EventProjector(chdb_analytics)
    # With follow-up records and feedback (the templates over them), which no customer or order figure reads.
    events = built.events + noise.events + FollowupWorld(built).events
    await projector.insert([row for event in events for row in projector.rows(event)])
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


async def test_tag_as_a_dimension_counts_each_tag_and_totals_distinct_records(
        engine: AsyncEngine, chdb_analytics: ChdbAnalytics, world: World) -> None:
    import asyncio

    from crm_reporting.projection import EventProjector
    from tests.reporting.dashboards.test_panels import TODAY, order, tag

    # c1 carries VIP (world.tag) and a second tag; c3 the second tag only; c2's VIP was removed.
    second = uuid.uuid4()
    projector = EventProjector(chdb_analytics)
    added = (named(tag(world.tenant, world.c1, second, 1), "重点"),
             named(tag(world.tenant, world.c3, second, 1), "重点"), order(world.tenant, world.c3, "30.00", TODAY))
    await projector.insert([row for event in added for row in projector.rows(event)])
    definition = {"object": "customers", "rows": [{"field": "tag"}], "column": {"field": "status"},
                  "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"},
                               {"agg": "conversion", "from": "potential", "to": "won"}]}
    result = await run(engine, chdb_analytics, who(world.tenant), definition)
    found = cells(result)
    vip, other = str(world.tag), str(second)
    assert found[(vip, None)][:2] == (1, Decimal("1250.50"))  # c1
    assert found[(other, None)][:2] == (2, Decimal("1780.50"))  # c1 1250.50 + c3 530
    assert found[("", None)][:2] == (1, Decimal("0.00"))  # c2: no tag (its VIP removed)
    assert found[(other, "won")][:2] == (2, Decimal("1780.50"))
    # Totals count each customer once however many tags it carries: 3 customers, not 4.
    assert found[(None, None)][:2] == (3, Decimal("1780.50"))
    assert found[(None, "won")][:2] == (2, Decimal("1780.50"))
    # c1 and c2 entered potential, c1 reached won: 1/2 overall, not weighted by tags.
    assert found[(None, None)][2] == Decimal("0.5000")
    labels = {c.keys[0]: c.rows[0] for c in result.cells if c.keys[0] is not None}
    assert labels[vip] == "VIP" and labels[other] == "重点" and labels[""] == "(empty)"
    # Each tag cell opens the customers carrying it; the empty one opens nothing (no list filter).
    vip_cell = next(c for c in result.cells if c.keys == (vip,) and c.column_key is None)
    assert dict(vip_cell.filter) == {"tag_id": vip}
    # Top 1 by count: the second tag, then "Others" (VIP and the untagged) with distinct customers.
    top = cells(await run(engine, chdb_analytics, who(world.tenant), {**definition, "top_n": 1, "column": None,
                                                                        "measures": [{"agg": "count"}]}))
    assert top[(other, None)] == (2,) and top[(report_engine.OTHERS_KEY, None)] == (2,) and top[(None, None)] == (3,)
    # Orders by tag: each order once in the totals.
    by_order = {"object": "orders", "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}]}
    orders = cells(await run(engine, chdb_analytics, who(world.tenant), {**by_order, "rows": [{"field": "tag"}]}))
    untagged = cells(await run(engine, chdb_analytics, who(world.tenant), by_order))
    # c1's three orders (1000, 250.50, 99 cancelled) and c3's two (500, 30), all CNY.
    assert orders[(other, None)] == (5, Decimal("1879.50"))
    assert orders[(None, None)] == untagged[(None,)]  # the same as without the tag dimension
    # The underlying rows: one per customer and tag.
    async with tenant_session(engine, world.tenant) as session:
        rows = await report_engine.underlying_rows(chdb_analytics, session, who(world.tenant), RunRequest(
            check_definition(definition), time_zone="Asia/Shanghai", today=TODAY))
        listed = await asyncio.to_thread(lambda: list(rows.rows))
    assert sorted((r[0], r[2]) for r in listed) == sorted([
        (str(world.c1), "VIP"), (str(world.c1), "重点"), (str(world.c2), "(empty)"), (str(world.c3), "重点")])


def named(event: Any, name: str) -> Any:
    """The tag event under another tag name."""
    import dataclasses

    return dataclasses.replace(event, data={**event.data, "tag_name": name})


async def test_every_cell_lists_exactly_its_customers(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                      world: World) -> None:
    """Each cell's click-through (its native list filter, or `report_cell` with the run's
    `cell_report`) lists as many customers as the cell counts: value segments, "others" of a top
    N, empty values, tags (totals of distinct customers), data scope."""
    from crm_reporting.projection import EventProjector
    from tests.reporting.dashboards.test_panels import customer, tag

    blank = uuid.uuid4()  # a customer without industry or source
    projector = EventProjector(chdb_analytics)
    added = (customer(world.tenant, blank, version=1, status="potential", created=world.old, changed=world.old,
                      owner_id=REP_A, region="华东", name="无行业"), tag(world.tenant, world.c3, world.tag, 5))
    await projector.insert([row for event in added for row in projector.rows(event)])
    definitions = [
        {"object": "customers", "rows": [{"field": "value_segment"}], "column": {"field": "status"}},
        {"object": "customers", "rows": [{"field": "industry"}, {"field": "source"}], "top_n": 1},
        {"object": "customers", "rows": [{"field": "tag"}], "column": {"field": "industry"}},
        {"object": "customers", "rows": [{"field": "region", "level": 1}],
         "filters": [{"field": "status", "op": "ne", "values": ["lost"]}]},
    ]
    for principal, expected_total in ((who(world.tenant), 4), (who(world.tenant, scope="own", user=REP_A), 3)):
        for definition in definitions:
            async with tenant_session(engine, world.tenant) as session:
                scope = await report_engine.report_scope(session, principal)
                result = await report_engine.run(chdb_analytics, session, principal, RunRequest(
                    check_definition({**definition, "measures": [{"agg": "count"}]}), time_zone="Asia/Shanghai",
                    today=TODAY), scope=scope)
                assert result.cell_report
                for cell in result.cells:
                    found = dict(cell.filter)
                    if "report_cell" not in found:
                        continue  # a native list filter (checked end to end against the list)
                    ids = await report_engine.cell_customers(chdb_analytics, session, principal,
                                                             result.cell_report, found["report_cell"])
                    assert len(ids) == cell.values[0], (definition, cell)
                    if all(k is None for k in cell.keys) and cell.column_key is None:
                        assert len(ids) == expected_total
            assert any("report_cell" in dict(c.filter) for c in result.cells), definition
    # Bad tokens are 400 on their parameter.
    async with tenant_session(engine, world.tenant) as session:
        for report, cell, field in (("nope", "W10", "report"), (result.cell_report, "bm9wZQ", "report_cell"),
                                    (result.cell_report, "WyJhIiwiYiJd", "report_cell")):
            with pytest.raises(InvalidInput) as bad:
                await report_engine.cell_customers(chdb_analytics, session, who(world.tenant), report, cell)
            assert bad.value.errors[0].field == field
        with pytest.raises(InvalidInput) as big:
            await report_engine.cell_customers(chdb_analytics, session, who(world.tenant), result.cell_report,
                                               report_engine.cell_token([None]), limit=2)
        assert big.value.errors[0].code == "too_many_customers"


async def test_underlying_rows_add_up_to_the_pivot_per_role(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                            world: World) -> None:
    """The streamed rows (one query for the whole export) are the records the pivot counts, for
    each role's data scope: per row label, as many rows as the pivot's count and figures summing to
    its sum; each record (or record and tag) once; read after the session closed."""
    import asyncio

    cases = {
        "customers": {"object": "customers", "rows": [{"field": "industry"}],
                      "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}]},
        "orders": {"object": "orders", "rows": [{"field": "order_status"}],
                   "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}]},
        "tags": {"object": "customers", "rows": [{"field": "tag"}], "measures": [{"agg": "count"}]},
    }
    for principal in (who(world.tenant), who(world.tenant, scope="own", user=REP_A),
                      who(world.tenant, scope="own", user=REP_B)):
        for name, definition in cases.items():
            result = await run(engine, chdb_analytics, principal, definition)
            async with tenant_session(engine, world.tenant) as session:
                rows = await report_engine.underlying_rows(chdb_analytics, session, principal, RunRequest(
                    check_definition(definition), title="T", time_zone="Asia/Shanghai", today=TODAY))
            listed = await asyncio.to_thread(lambda rows=rows: list(rows.rows))
            label = 2 if name != "orders" else 1  # customers reports carry the name
            keys = [(r[0], r[label]) for r in listed]
            assert len(set(keys)) == len(keys), (name, listed)
            pivot = {c.rows[0]: c.values for c in result.cells if c.rows[0] is not None}
            counted: dict[Any, int] = {}
            summed: dict[Any, Decimal] = {}
            for row in listed:
                counted[row[label]] = counted.get(row[label], 0) + 1
                if len(row) > label + 1:
                    summed[row[label]] = summed.get(row[label], Decimal(0)) + row[label + 1]
            assert counted == {k: v[0] for k, v in pivot.items()}, (name, principal.data_scope, listed)
            assert summed == {k: v[1] for k, v in pivot.items() if len(v) > 1}, (name, listed)
