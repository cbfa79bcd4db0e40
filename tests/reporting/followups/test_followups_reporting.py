"""Follow-up records, tasks and feedback in reporting, over real chDB (and Postgres for the report
builder): the projection under redelivery, a merge and its undo, and erasure; the follow-up KPI
cards and the report builder's follow-up objects per data scope, each checked against a count made
here from the events themselves; another tenant's rows never counted."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import InvalidInput, PermissionDenied
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.dashboards.panels import PANELS
from crm_reporting.erasure import erase_customer
from crm_reporting.followups.tables import CUSTOMER_ACTIVITY, FOLLOWUP_RECORDS, FOLLOWUP_TASKS
from crm_reporting.main import ANALYTICS_TABLES
from crm_reporting.projection import EventProjector
from crm_reporting.reports import engine as report_engine
from crm_reporting.reports.definition import check_definition
from crm_reporting.reports.engine import RunRequest
from crm_reporting.reports.files.render import write_report_file
from crm_reporting.reports.result import PivotResult
from crm_reporting.reports.templates import TEMPLATES
from crm_reporting.scope.service import ReportScope
from crm_reporting.scope.tables import user_teams
from tests.reporting.dashboards.test_panels import REP_A, REP_B, TODAY, World, points, request
from tests.reporting.followups.events import FollowupWorld, last_month_day, merge_event, record_event, task_event


async def project(analytics: Analytics, events: Iterable[CloudEvent]) -> None:
    """As the consumer's batch path does, without the Postgres inbox (merges applied in order)."""
    projector = EventProjector(analytics, ANALYTICS_TABLES)
    pending: list[Any] = []
    from crm_reporting.followups import service as followups

    for event in events:
        if followups.moves(event):
            await projector.insert(pending)
            pending = []
            await followups.apply_move(analytics, event)
        pending += projector.rows(event)
    await projector.insert(pending)


@pytest.fixture
async def fworld(analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID) -> FollowupWorld:
    built, noise = FollowupWorld(World(tenant)), FollowupWorld(World(other_tenant))
    await project(analytics, built.world.events + noise.world.events + built.events + noise.events)
    return built


async def customers_of(analytics: Analytics, table: Any, tenant: uuid.UUID, key: str) -> dict[str, str]:
    rows = await analytics.query(TenantQuery(table, tenant, final=True).select(
        f"toString({key}) AS k", "toString(customer_id) AS c"))
    return {str(r["k"]): str(r["c"]) for r in rows}


async def test_records_and_tasks_survive_redelivery_merges_undo_and_erasure(analytics: Analytics,
                                                                            tenant: uuid.UUID) -> None:
    kept, merged = uuid.uuid4(), uuid.uuid4()
    record, task = uuid.uuid4(), uuid.uuid4()
    created = record_event(tenant, merged, REP_A, TODAY, record_id=record)
    task_created = task_event(tenant, merged, REP_A, datetime.now(UTC), task_id=task)
    merge_id = uuid.uuid4()
    merge = merge_event(tenant, merge_id, kept, [merged])
    await project(analytics, [created, task_created, created, task_created])  # redelivered: one row each
    assert await customers_of(analytics, FOLLOWUP_RECORDS, tenant, "record_id") == {str(record): str(merged)}
    assert await customers_of(analytics, FOLLOWUP_TASKS, tenant, "task_id") == {str(task): str(merged)}
    await project(analytics, [merge, created, task_created])  # the merge, then a late redelivery of creations
    assert await customers_of(analytics, FOLLOWUP_RECORDS, tenant, "record_id") == {str(record): str(kept)}
    assert await customers_of(analytics, FOLLOWUP_TASKS, tenant, "task_id") == {str(task): str(kept)}
    contacted = await customers_of(analytics, CUSTOMER_ACTIVITY, tenant, "source_id")
    assert contacted == {str(record): str(kept)}
    await project(analytics, [merge])  # a repeated merge moves nothing more
    await project(analytics, [merge_event(tenant, merge_id, kept, [merged], undo=True)])
    assert await customers_of(analytics, FOLLOWUP_RECORDS, tenant, "record_id") == {str(record): str(merged)}
    assert await customers_of(analytics, FOLLOWUP_TASKS, tenant, "task_id") == {str(task): str(merged)}
    assert await customers_of(analytics, CUSTOMER_ACTIVITY, tenant, "source_id") == {str(record): str(merged)}
    await erase_customer(analytics, ANALYTICS_TABLES, tenant, merged)
    for table, key in ((FOLLOWUP_RECORDS, "record_id"), (FOLLOWUP_TASKS, "task_id"), (CUSTOMER_ACTIVITY, "source_id")):
        assert await customers_of(analytics, table, tenant, key) == {}

    # Merged again, then the merged-away customer erased: the rows stay with the survivor that holds
    # them, and no version names the erased customer any more.
    await project(analytics, [record_event(tenant, merged, REP_A, TODAY, record_id=record),
                              merge_event(tenant, uuid.uuid4(), kept, [merged])])
    await erase_customer(analytics, ANALYTICS_TABLES, tenant, merged)
    assert await customers_of(analytics, FOLLOWUP_RECORDS, tenant, "record_id") == {str(record): str(kept)}
    every_version = await analytics.query(TenantQuery(FOLLOWUP_RECORDS, tenant).select(
        "toString(customer_id) AS c", "moved_from"))
    assert every_version and all(str(merged) not in (r["c"], r["moved_from"]) for r in every_version)


def expected_followups(fw: FollowupWorld, owners: set[str] | None) -> tuple[int, int, int]:
    """Counted from the events: records this month and last month and overdue open tasks, of live
    customers (c4 is deleted) whose owner is in `owners` (None: every owner)."""
    w = fw.world
    owner = {w.c1: REP_A, w.c2: REP_A, w.c3: REP_B}
    now, month = datetime.now(UTC), TODAY.replace(day=1)
    this_month = last_month = overdue = 0
    for event in fw.events:
        data = event.data.get("record") or event.data.get("task")
        if data is None:
            continue
        cid = uuid.UUID(data["customer_id"])
        if cid not in owner or (owners is not None and owner[cid] not in owners):
            continue
        if "record" in event.data:
            day = datetime.fromisoformat(data["followed_at"]).date()
            this_month += month <= day <= TODAY
            last_month += last_month_day().replace(day=1) <= day < month
        elif data["status"] == "open" and datetime.fromisoformat(data["due_at"]) < now:
            overdue += 1
    return this_month, last_month, overdue


@pytest.mark.parametrize("scope", [None, (REP_A,), (REP_B,), ()], ids=["all", "rep_a", "rep_b", "nobody"])
async def test_followup_kpis_follow_the_data_scope(analytics: Analytics, fworld: FollowupWorld,
                                                   scope: tuple[str, ...] | None) -> None:
    result = points(await PANELS["kpis"].compute(analytics, request(fworld.world, ReportScope(scope))))
    found = (result["followups_this_month", ""].count, result["followups_last_month", ""].count,
             result["overdue_tasks", ""].count)
    assert found == expected_followups(fworld, None if scope is None else set(scope))
    if scope is None:
        assert found == (4, 1, 2)  # the world as its docstring tells it: c4's are deleted with it


# -- the report builder ----------------------------------------------------------------------------

@pytest.fixture
async def rworld(chdb_analytics: ChdbAnalytics, tenant_id: uuid.UUID, other_tenant: uuid.UUID) -> FollowupWorld:
    built, noise = FollowupWorld(World(tenant_id)), FollowupWorld(World(other_tenant))
    await project(chdb_analytics, built.world.events + noise.world.events + built.events + noise.events)
    return built


def who(tenant: uuid.UUID, *, scope: str = "all", user: str | None = None, **policies: str) -> Principal:
    return Principal(subject="u", tenant_id=tenant, user_id=uuid.UUID(user) if user else uuid.uuid4(),
                     client_id="web", scopes=frozenset({"reports:read"}), data_scope=scope, field_policies=policies)


async def run(engine: AsyncEngine, analytics: ChdbAnalytics, principal: Principal, definition: dict[str, Any],
              locale: str = "en") -> PivotResult:
    async with tenant_session(engine, principal.tenant_id) as session:
        return await report_engine.run(analytics, session, principal, RunRequest(
            check_definition(definition), title="T", locale=locale, time_zone="UTC", today=TODAY))


def cells(result: PivotResult) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    return {(*c.keys, c.column_key): c.values for c in result.cells}


def records_by_rep(fw: FollowupWorld, owners: set[str] | None) -> dict[str, tuple[int, set[uuid.UUID]]]:
    w = fw.world
    owner = {w.c1: REP_A, w.c2: REP_A, w.c3: REP_B}
    found: dict[str, tuple[int, set[uuid.UUID]]] = {}
    for event in fw.events:
        data = event.data.get("record")
        if data is None:
            continue
        cid = uuid.UUID(data["customer_id"])
        if cid in owner and (owners is None or owner[cid] in owners):
            count, customers = found.get(data["followed_by"], (0, set()))
            found[data["followed_by"]] = (count + 1, customers | {cid})
    return found


@pytest.mark.parametrize("role", ["rep", "manager", "customer_service", "admin"])
async def test_followup_records_by_rep_per_role(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                rworld: FollowupWorld, role: str) -> None:
    """A rep sees their own customers' records (data scope own), a manager and an admin every one
    (all, in this reporting schema without teams), customer service too, without owner-governed
    dimensions when their policy hides the owner: the report is refused, not cut."""
    tenant = rworld.world.tenant
    principal = {"rep": who(tenant, scope="own", user=REP_A), "manager": who(tenant, scope="all"),
                 "customer_service": who(tenant, scope="all", owner_id="hidden"), "admin": who(tenant)}[role]
    definition = {"object": "followup_records", "rows": [{"field": "followed_by"}],
                  "measures": [{"agg": "count"}, {"agg": "distinct_customers"},
                               {"agg": "conversion", "from": "potential", "to": "won"}]}
    result = await run(engine, chdb_analytics, principal, definition)
    expected = records_by_rep(rworld, {REP_A} if role == "rep" else None)
    found = cells(result)
    for rep, (count, customers) in expected.items():
        assert found[(rep, None)][:2] == (count, len(customers))
    assert found[(None, None)][:2] == (sum(c for c, _ in expected.values()),
                                       len(set().union(*(s for _, s in expected.values()))))
    assert {k[0] for k in found if k[0] is not None} == set(expected)
    # Rep A contacted c1 (potential -> won) and c2 (potential): half of them won.
    assert str(found[(REP_A, None)][2]) == "0.5000"
    # The rep's name where reporting knows it (identity's user events), else the id.
    async with tenant_session(engine, tenant) as session:
        await session.execute(sa.insert(user_teams).values(user_id=uuid.UUID(REP_A), version=1, display_name="王销售"))
    named = await run(engine, chdb_analytics, principal, definition, locale="zh-CN")
    labels = {c.keys[0]: c.rows[0] for c in named.cells if c.keys[0] is not None}
    assert labels[REP_A] == "王销售" and all(labels[k] == k for k in labels if k != REP_A)
    if role == "customer_service":  # the customer's owner as a dimension: refused under the policy
        with pytest.raises(PermissionDenied):
            await run(engine, chdb_analytics, principal, {**definition, "rows": [{"field": "owner"}]})


async def test_feedback_object_rating_csat_and_nps(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                   rworld: FollowupWorld) -> None:
    tenant = rworld.world.tenant
    result = await run(engine, chdb_analytics, who(tenant), {
        "object": "feedback", "rows": [{"field": "owner"}],
        "measures": [{"agg": "count"}, {"agg": "avg", "field": "rating"}, {"agg": "csat"}, {"agg": "nps"}]})
    found = cells(result)
    feedback = [e.data["feedback"] for e in rworld.events if "feedback" in e.data]
    ratings = [f["rating"] for f in feedback if f["rating"]]
    scores = [f["nps_score"] for f in feedback if f["nps_score"] >= 0]
    count, average, csat, nps = found[(None, None)]
    assert count == len(feedback)
    assert str(average) == f"{sum(ratings) / len(ratings):.2f}"
    assert str(csat) == f"{sum(r >= 4 for r in ratings) / len(ratings):.4f}"
    assert str(nps) == f"{(sum(s >= 9 for s in scores) - sum(s < 7 for s in scores)) * 100 / len(scores):.1f}"
    # Rep A's customers: c1 rated 5 and 2, c2 a promoter.
    assert found[(REP_A, None)] == (3, average.__class__("3.50"), csat.__class__("0.5000"), nps.__class__("100.0"))
    rep_b = await run(engine, chdb_analytics, who(tenant, scope="own", user=REP_B), {
        "object": "feedback", "rows": [{"field": "rating"}], "measures": [{"agg": "count"}]})
    assert cells(rep_b) == {("0", None): (1,), ("4", None): (1,), (None, None): (2,)}
    assert [c.rows[0] for c in rep_b.cells if c.keys[0] == "0"] == ["Not rated"]
    with pytest.raises(InvalidInput) as refused:
        check_definition({"object": "orders", "measures": [{"agg": "csat"}]})
    assert refused.value.errors[0].code == "not_available"
    with pytest.raises(InvalidInput):
        check_definition({"object": "feedback", "rows": [{"field": "order_status"}]})


async def test_customer_activity_per_month(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                           rworld: FollowupWorld) -> None:
    """The monthly activity template: customers new, contacted, won and lost per month."""
    w = rworld.world
    result = await run(engine, chdb_analytics, who(w.tenant), TEMPLATES["monthly_customer_activity"].definition)
    month = TODAY.replace(day=1).isoformat()
    found = cells(result)
    # This month: c2 new (c4 too, but deleted); c1, c2, c3 contacted; nobody lost; c1 won this
    # quarter (this month only if the quarter started this month).
    assert found[(month, "new")] == (1,)
    assert found[(month, "contacted")] == (3,)
    assert (month, "lost") not in found
    rep = await run(engine, chdb_analytics, who(w.tenant, scope="own", user=REP_B),
                    TEMPLATES["monthly_customer_activity"].definition)
    assert cells(rep)[(month, "contacted")] == (1,)  # c3
    assert (month, "new") not in cells(rep)


async def test_a_record_cell_lists_its_customers_and_underlying_rows_page(
        engine: AsyncEngine, chdb_analytics: ChdbAnalytics, rworld: FollowupWorld) -> None:
    w = rworld.world
    principal = who(w.tenant)
    definition = check_definition({"object": "followup_records", "rows": [{"field": "method"}],
                                   "measures": [{"agg": "count"}]})
    async with tenant_session(engine, w.tenant) as session:
        result = await report_engine.run(chdb_analytics, session, principal,
                                         RunRequest(definition, today=TODAY))
        visit = next(c for c in result.cells if c.keys == ("visit",))
        assert visit.filter[0][0] == "report_cell"
        listed = await report_engine.cell_customers(chdb_analytics, session, principal, result.cell_report,
                                                    visit.filter[0][1])
        assert sorted(listed) == sorted([str(w.c1), str(w.c3)])
        rows, _ = await report_engine.underlying_source(chdb_analytics, session, principal,
                                                        RunRequest(definition, today=TODAY))
    got = await asyncio.to_thread(lambda: list(rows.rows))
    assert rows.columns[0] == "Follow-up record"
    assert len(got) == sum(n for n, _ in records_by_rep(rworld, None).values())


async def test_methods_show_their_dictionary_names_in_the_viewers_language(
        engine: AsyncEngine, chdb_analytics: ChdbAnalytics, rworld: FollowupWorld) -> None:
    """Rows and columns of `method` read 拜访 / Visit (the names the records' events carried), not
    the code `visit`; the cell keeps the code for its click-through."""
    w = rworld.world
    definition = check_definition({"object": "followup_records", "rows": [{"field": "method"}],
                                   "measures": [{"agg": "count"}]})
    as_column = check_definition({"object": "followup_records", "rows": [{"field": "followed_by"}],
                                  "column": {"field": "method"}, "measures": [{"agg": "count"}]})
    for locale, visit, email in (("zh-CN", "拜访", "邮件"), ("en", "Visit", "Email")):
        async with tenant_session(engine, w.tenant) as session:
            result = await report_engine.run(chdb_analytics, session, who(w.tenant),
                                             RunRequest(definition, today=TODAY, locale=locale))
            by_column = await report_engine.run(chdb_analytics, session, who(w.tenant),
                                                RunRequest(as_column, today=TODAY, locale=locale))
        labels = {c.keys[0]: c.rows[0] for c in result.cells if c.keys and c.keys[0] is not None}
        assert labels["visit"] == visit and labels["email"] == email
        assert {visit, email} <= set(by_column.column_values)


async def test_followup_templates_run_and_another_tenant_is_never_counted(
        engine: AsyncEngine, chdb_analytics: ChdbAnalytics, rworld: FollowupWorld,
        provision_tenant: Callable[[], uuid.UUID]) -> None:
    stranger = who(provision_tenant())  # a tenant of its own: the other tenants' rows are not its
    for key in ("monthly_customer_activity", "followup_performance_by_rep"):
        assert (await run(engine, chdb_analytics, who(rworld.world.tenant), TEMPLATES[key].definition)).cells
        assert not [c for c in (await run(engine, chdb_analytics, stranger, TEMPLATES[key].definition)).cells
                    if c.values[0]]


async def test_exports_of_follow_up_records_hold_the_records(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                            rworld: FollowupWorld, tmp_path: Path) -> None:
    """XLSX (its data sheet: one row per record in scope), CSV and PDF through the same engine."""
    from tests.reporting.reports.test_report_files_engine import _data_sheet, _files

    definition = {"object": "followup_records", "rows": [{"field": "followed_by"}],
                  "measures": [{"agg": "count"}, {"agg": "distinct_customers"}]}
    path = tmp_path / "records.xlsx"
    result, _, count = await _files(engine, chdb_analytics, who(rworld.world.tenant, scope="own", user=REP_B),
                                    definition, path)
    header, records = _data_sheet(path)
    expected = records_by_rep(rworld, {REP_B})
    assert count == len(records) == sum(n for n, _ in expected.values()) == 2
    assert header[:2] == ["跟进记录", "跟进人"] and {r[1] for r in records} == {REP_B}
    out = io.BytesIO()
    write_report_file("csv", result, None, out)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert rows[-1][:3] == ["总计", "2", "1"]
    pdf = io.BytesIO()
    write_report_file("pdf", result, None, pdf)
    assert pdf.getvalue().startswith(b"%PDF")
