"""The orders re-keyed by customer and the per-customer spend (orders/rollup.py) stay exact, and so do
what reads them: the KPI churn card (won customers without a counted order in 12 months) for the
admin and each rep, and the report builder's lifetime value and order count (pivot and underlying
rows), which must equal both an independent computation and the 12-month spend path (the orders by
day) in the same run. Order versions change day (into the future and over a year back), amount,
status, currency and customer, arrive out of order and twice; customers are reassigned, deleted,
merged away and erased. The start-up backfill gives the same rows as the upkeep."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import tenant_session
from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.dashboards.audience import add_months, parse_object, parse_range
from crm_reporting.dashboards.panels import PANELS, PanelRequest
from crm_reporting.erasure import erase_customer
from crm_reporting.main import ANALYTICS_TABLES
from crm_reporting.orders import rollup
from crm_reporting.orders.rollup import CUSTOMER_SPEND, ORDERS_BY_CUSTOMER
from crm_reporting.projection import EventProjector
from crm_reporting.reports import engine as report_engine
from crm_reporting.reports.definition import check_definition
from crm_reporting.reports.engine import RunRequest
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from tests.reporting.dashboards.test_panels import REP_A, REP_B, TODAY, customer, principal
from tests.reporting.dashboards.test_panels_order_versions import OrderVersion
from tests.reporting.reports.test_report_engine import cells, run, who

COUNTED = ("paid", "confirmed")


class Truth:
    def __init__(self) -> None:
        self.orders: dict[uuid.UUID, OrderVersion] = {}
        self.owner: dict[uuid.UUID, str] = {}
        self.deleted: set[uuid.UUID] = set()

    def order(self, v: OrderVersion) -> None:
        if v.order_id not in self.orders or self.orders[v.order_id].version < v.version:
            self.orders[v.order_id] = v

    def spend(self) -> dict[tuple[str, str], tuple[Decimal, int, str]]:
        """(customer, currency) -> (amount, orders, last day) of every counted latest version."""
        out: dict[tuple[str, str], tuple[Decimal, int, str]] = {}
        for v in self.orders.values():
            if v.status in COUNTED:
                key = (str(v.customer_id), v.currency)
                amount, count, last = out.get(key, (Decimal(0), 0, ""))
                out[key] = (amount + v.amount, count + 1, max(last, v.day.isoformat()))
        return out

    def lifetime(self) -> dict[str, tuple[Decimal, int]]:
        """Per live customer: CNY counted orders up to today (the spend rule), amount and count."""
        out: dict[str, tuple[Decimal, int]] = {str(c): (Decimal(0), 0) for c in self.owner if c not in self.deleted}
        for v in self.orders.values():
            if v.status in COUNTED and v.currency == "CNY" and v.day <= TODAY and str(v.customer_id) in out:
                amount, count = out[str(v.customer_id)]
                out[str(v.customer_id)] = (amount + v.amount, count + 1)
        return out


async def spend_rows(analytics: Analytics, tenant: uuid.UUID, table: str = "customer_spend") -> dict[
        tuple[str, str], tuple[Decimal, int, str]]:
    declared = dataclasses.replace(CUSTOMER_SPEND, name=table)
    rows = await analytics.query(TenantQuery(declared, tenant, final=True).where("order_count > 0").select(
        "toString(customer_id) AS customer", "currency", "toString(amount) AS amount", "order_count",
        "toString(last_ordered) AS last"))
    return {(str(r["customer"]), str(r["currency"])): (Decimal(str(r["amount"])), int(r["order_count"]), str(r["last"]))
            for r in rows}


async def customer_rows(analytics: Analytics, tenant: uuid.UUID,
                        table: str = "orders_by_customer") -> set[tuple[str, ...]]:
    declared = dataclasses.replace(ORDERS_BY_CUSTOMER, name=table)
    rows = await analytics.query(TenantQuery(declared, tenant, final=True).select(
        "toString(customer_id) AS customer", "toString(order_id) AS id", "version", "toString(ordered_on) AS day",
        "toString(amount) AS amount", "currency", "status"))
    return {(str(r["customer"]), str(r["id"]), str(r["version"]), str(r["day"]),
             str(Decimal(str(r["amount"])).normalize()), str(r["currency"]), str(r["status"])) for r in rows}


def expected_customer_rows(truth: Truth) -> set[tuple[str, ...]]:
    return {(str(v.customer_id), str(v.order_id), str(v.version), v.day.isoformat(), str(v.amount.normalize()),
             v.currency, v.status) for v in truth.orders.values()}


async def lifetime_rows(engine: AsyncEngine, analytics: ChdbAnalytics, tenant: uuid.UUID,
                        measures: list[dict[str, str]]) -> dict[str, list[Any]]:
    definition = check_definition({"object": "customers", "rows": [{"field": "industry"}], "measures": measures})
    async with tenant_session(engine, tenant) as session:
        found = await report_engine.underlying_rows(analytics, session, who(tenant),
                                                    RunRequest(definition, today=TODAY))
        rows = await asyncio.to_thread(lambda: list(found.rows))
    return {str(r[0]): list(r[3:]) for r in rows}


async def check(engine: AsyncEngine, analytics: ChdbAnalytics, tenant: uuid.UUID, truth: Truth) -> None:
    assert await customer_rows(analytics, tenant) == expected_customer_rows(truth)
    assert await spend_rows(analytics, tenant) == truth.spend()
    # Churn, per viewer: won (all are) live customers in scope without a counted order after a year ago.
    year_ago = add_months(TODAY, -12)
    buyers = {v.customer_id for v in truth.orders.values() if v.status in COUNTED and v.day > year_ago}
    range_ = parse_range("12m", "", "", TODAY)
    for scope in (EVERY_CUSTOMER, ReportScope((REP_A,)), ReportScope((REP_B,))):
        mine = {c for c, o in truth.owner.items() if c not in truth.deleted
                and (scope.owners is None or o in scope.owners)}
        request = PanelRequest(tenant, parse_object("all", scope, {}), range_, TODAY, principal(tenant))
        kpis = {p.key: p for p in (await PANELS["kpis"].compute(analytics, request)).points}
        assert kpis["customers"].count == len(mine)
        assert kpis["churn_rate"].count == len(mine - buyers)
    # Lifetime value and order count: the per-customer spend (new) against the truth, and against the
    # path through the orders by day (taken when the 12-month spend is asked for too).
    expected = {c: [amount, count] for c, (amount, count) in truth.lifetime().items()}
    new = await lifetime_rows(engine, analytics, tenant, [
        {"agg": "sum", "field": "lifetime_value"}, {"agg": "sum", "field": "order_count"}])
    old = await lifetime_rows(engine, analytics, tenant, [
        {"agg": "sum", "field": "lifetime_value"}, {"agg": "sum", "field": "order_count"},
        {"agg": "sum", "field": "annual_spend"}])
    assert {c: [Decimal(str(a)), int(n)] for c, (a, n) in new.items()} == expected
    assert {c: r[:2] for c, r in old.items()} == new
    pivot: dict[str, Any] = {"object": "customers", "rows": [{"field": "owner"}], "measures": [
        {"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}, {"agg": "avg", "field": "lifetime_value"},
        {"agg": "max", "field": "order_count"}]}
    with_annual = {**pivot, "measures": [*pivot["measures"], {"agg": "sum", "field": "annual_spend"}]}
    for viewer in (who(tenant), who(tenant, scope="own", user=REP_A)):
        fresh = cells(await run(engine, analytics, viewer, pivot))
        through_days = cells(await run(engine, analytics, viewer, with_annual))
        assert fresh == {k: v[:4] for k, v in through_days.items()}
        assert fresh


async def test_customer_spend_churn_and_lifetime_stay_exact(engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
                                                            tenant_id: uuid.UUID) -> None:
    analytics, tenant = chdb_analytics, tenant_id
    rng = random.Random(23)
    projector = EventProjector(analytics, ANALYTICS_TABLES)
    truth = Truth()
    # d: no orders; old: orders over a year ago only; late: its orders arrive before the customer.
    a, b, c, d, old, late = (uuid.uuid4() for _ in range(6))
    for cid, owner in ((a, REP_A), (b, REP_A), (c, REP_B), (d, REP_B), (old, REP_A)):
        truth.owner[cid] = owner
    await projector.insert([row for cid in truth.owner for row in projector.rows(
        customer(tenant, cid, version=1, status="won", created=TODAY, changed=TODAY, owner_id=truth.owner[cid],
                 industry="IT"))])
    versions: list[OrderVersion] = [
        OrderVersion(uuid.uuid4(), 1, old, Decimal("12.50"), TODAY - timedelta(days=400), "paid"),
        OrderVersion(uuid.uuid4(), 1, a, Decimal("40.00"), TODAY + timedelta(days=5), "paid")]
    back = uuid.uuid4()  # dated in the future under b, then moved to today under c
    versions += [OrderVersion(back, 1, b, Decimal("8.00"), TODAY + timedelta(days=3), "paid"),
                 OrderVersion(back, 2, c, Decimal("8.00"), TODAY, "confirmed")]
    for _ in range(40):
        order_id = uuid.uuid4()
        for version in range(1, rng.randrange(2, 6)):
            versions.append(OrderVersion(
                order_id, version, rng.choice([a, b, c, late]), Decimal(rng.randrange(100, 99999)) / 100,
                TODAY + timedelta(days=rng.randrange(-500, 20)), rng.choice(["paid", "confirmed", "pending"]),
                rng.choice(["CNY", "CNY", "USD"])))
    shuffled = versions[:]
    rng.shuffle(shuffled)
    for i in range(0, len(shuffled), 7):
        batch = shuffled[i:i + 7]
        await projector.insert([row for v in batch for row in projector.rows(v.event(tenant))])
        for v in batch:
            truth.order(v)
    assert any(v.day > TODAY for v in truth.orders.values())  # future-dated: left out of the lifetime value
    await check(engine, analytics, tenant, truth)
    # Redelivery of a third, late: nothing changes.
    await projector.insert([row for v in shuffled[::3] for row in projector.rows(v.event(tenant))])
    await check(engine, analytics, tenant, truth)
    # The late customer appears; c goes to rep A; b is deleted.
    truth.owner[late] = REP_B
    truth.owner[c] = REP_A
    truth.deleted.add(b)
    await projector.insert([row for event in (
        customer(tenant, late, version=1, status="won", created=TODAY, changed=TODAY, owner_id=REP_B, industry="IT"),
        customer(tenant, c, version=2, status="won", created=TODAY, changed=TODAY, verb="updated",
                 changed_fields=("owner_id",), owner_id=REP_A, industry="IT"),
        customer(tenant, b, version=2, status="won", created=TODAY, changed=TODAY, verb="deleted", owner_id=REP_A,
                 industry="IT"),
    ) for row in projector.rows(event)])
    await check(engine, analytics, tenant, truth)
    # A merge moves c's orders to a by a new version (a day earlier), then c is deleted.
    moved = [dataclasses.replace(v, version=v.version + 1, customer_id=a, day=v.day - timedelta(days=1))
             for v in truth.orders.values() if v.customer_id == c]
    assert moved
    await projector.insert([row for v in moved for row in projector.rows(v.event(tenant))])
    for v in moved:
        truth.order(v)
    truth.deleted.add(c)
    await projector.insert(projector.rows(customer(tenant, c, version=3, status="won", created=TODAY, changed=TODAY,
                                                   verb="deleted", owner_id=REP_A, industry="IT")))
    await check(engine, analytics, tenant, truth)
    # An old version of a moved order redelivered: still a's.
    await projector.insert([row for v in versions if v.order_id == moved[0].order_id
                            for row in projector.rows(v.event(tenant))])
    await check(engine, analytics, tenant, truth)
    # The backfill of a new install gives the same rows as the upkeep did.
    probes = (dataclasses.replace(ORDERS_BY_CUSTOMER, name="probe_orders_by_customer"),
              dataclasses.replace(CUSTOMER_SPEND, name="probe_customer_spend"))
    for table in probes:
        await analytics.command(f"DROP TABLE IF EXISTS {table.name}")
    try:
        await ensure_schema(analytics, probes)
        assert await customer_rows(analytics, tenant, "probe_orders_by_customer") == expected_customer_rows(truth)
        assert await spend_rows(analytics, tenant, "probe_customer_spend") == truth.spend()
    finally:
        for table in probes:
            await analytics.command(f"DROP TABLE IF EXISTS {table.name}")
    # Erasure of a: its orders and spend go; no older version under another customer comes back.
    await rollup.forget_customer(analytics, tenant, a, lambda: erase_customer(analytics, ANALYTICS_TABLES, tenant, a))
    truth.orders = {k: v for k, v in truth.orders.items() if v.customer_id != a}
    truth.owner.pop(a)
    await check(engine, analytics, tenant, truth)

