"""The orders re-keyed by day and the per-owner daily spend rollup (orders/rollup.py) stay exact:
versions that change an order's day, amount, status or customer, delivered out of order and twice;
customers reassigned, deleted, restored, appearing after their orders, erased. Each state is compared
with an independent computation in Python from the latest versions: the rollup's slices, the day
table's live rows, and the money panels for the admin and each rep. The start-up backfill of both
tables (schema.py) must give the same rows as the incremental upkeep."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import timedelta
from decimal import Decimal

from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.dashboards.audience import parse_range
from crm_reporting.erasure import erase_customer
from crm_reporting.main import ANALYTICS_TABLES
from crm_reporting.orders import rollup
from crm_reporting.orders.rollup import ORDERS_BY_DAY, OWNER_SPEND_DAYS
from crm_reporting.projection import EventProjector
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from tests.reporting.dashboards.test_panels import REP_A, REP_B, TODAY, customer
from tests.reporting.dashboards.test_panels_order_versions import OrderVersion, assert_money_panels

COUNTED = ("paid", "confirmed")


class Truth:
    """The latest version of every order and customer, as the projector was given them."""

    def __init__(self) -> None:
        self.orders: dict[uuid.UUID, OrderVersion] = {}
        self.owner: dict[uuid.UUID, str] = {}
        self.deleted: set[uuid.UUID] = set()

    def order(self, v: OrderVersion) -> None:
        if v.order_id not in self.orders or self.orders[v.order_id].version < v.version:
            self.orders[v.order_id] = v

    def slices(self) -> dict[tuple[str, str], tuple[Decimal, int]]:
        """(day, owner) -> (amount, orders) of counted orders of non-deleted customers (CNY only)."""
        out: dict[tuple[str, str], tuple[Decimal, int]] = {}
        for v in self.orders.values():
            if v.status in COUNTED and v.customer_id not in self.deleted:
                key = (v.day.isoformat(), self.owner.get(v.customer_id, ""))
                amount, count = out.get(key, (Decimal(0), 0))
                out[key] = (amount + v.amount, count + 1)
        return out


async def rollup_slices(analytics: Analytics, tenant: uuid.UUID) -> dict[tuple[str, str], tuple[Decimal, int]]:
    rows = await analytics.query(rollup.spend_days(tenant, None).select(
        "toString(ordered_on) AS day", "owner_id", "toString(amount) AS amount", "orders"))
    return {(str(r["day"]), str(r["owner_id"])): (Decimal(str(r["amount"])), int(r["orders"])) for r in rows}


async def day_rows(analytics: Analytics, tenant: uuid.UUID, table: str = "orders_by_day") -> set[tuple[str, ...]]:
    declared = dataclasses.replace(ORDERS_BY_DAY, name=table)
    rows = await analytics.query(TenantQuery(declared, tenant, final=True).select(
        "toString(ordered_on) AS day", "toString(order_id) AS id", "version", "toString(customer_id) AS customer",
        "toString(amount) AS amount", "status"))
    return {(str(r["day"]), str(r["id"]), str(r["version"]), str(r["customer"]), str(Decimal(str(r["amount"]))),
             str(r["status"])) for r in rows}


def expected_day_rows(truth: Truth) -> set[tuple[str, ...]]:
    return {(v.day.isoformat(), str(v.order_id), str(v.version), str(v.customer_id), str(v.amount), v.status)
            for v in truth.orders.values()}


async def check(analytics: Analytics, tenant: uuid.UUID, truth: Truth) -> None:
    assert await day_rows(analytics, tenant) == expected_day_rows(truth)
    assert await rollup_slices(analytics, tenant) == truth.slices()
    range_ = parse_range("12m", "", "", TODAY)
    live = {c: o for c, o in truth.owner.items() if c not in truth.deleted}
    for scope in (EVERY_CUSTOMER, ReportScope((REP_A,)), ReportScope((REP_B,))):
        def seen(v: OrderVersion, scope: ReportScope = scope) -> bool:
            if v.customer_id in truth.deleted:
                return False
            return scope.owners is None or live.get(v.customer_id) in scope.owners
        mine = [v for v in truth.orders.values() if v.status in COUNTED and seen(v)
                and range_.start <= v.day <= range_.end]
        await assert_money_panels(analytics, tenant, scope, range_, mine)


async def test_day_changes_moves_owners_deletions_erasure_stay_exact(analytics: Analytics, tenant: uuid.UUID) -> None:
    rng = random.Random(15)
    projector = EventProjector(analytics, ANALYTICS_TABLES)
    truth = Truth()
    a, b, c, late = (uuid.uuid4() for _ in range(4))  # `late`: its orders arrive before the customer
    for cid, owner in ((a, REP_A), (b, REP_A), (c, REP_B)):
        truth.owner[cid] = owner
    await projector.insert([row for cid in (a, b, c) for row in projector.rows(
        customer(tenant, cid, version=1, status="won", created=TODAY, changed=TODAY, owner_id=truth.owner[cid]))])
    # 40 orders, 1-4 versions each: each version may change the day (within the year), the amount,
    # the status and the customer.
    versions: list[OrderVersion] = []
    for _ in range(40):
        order_id = uuid.uuid4()
        for version in range(1, rng.randrange(2, 6)):
            versions.append(OrderVersion(
                order_id, version, rng.choice([a, b, c, late]), Decimal(rng.randrange(100, 99999)) / 100,
                TODAY - timedelta(days=rng.randrange(0, 200)), rng.choice(["paid", "confirmed", "pending"])))
    shuffled = versions[:]
    rng.shuffle(shuffled)
    for i in range(0, len(shuffled), 7):  # out of order, in several batches
        batch = shuffled[i:i + 7]
        await projector.insert([row for v in batch for row in projector.rows(v.event(tenant))])
        for v in batch:
            truth.order(v)
    await check(analytics, tenant, truth)
    # Redelivery of a third, late: nothing changes.
    await projector.insert([row for v in shuffled[::3] for row in projector.rows(v.event(tenant))])
    await check(analytics, tenant, truth)
    # The late customer appears (rep B); c goes to rep A; b is deleted.
    truth.owner[late] = REP_B
    truth.owner[c] = REP_A
    truth.deleted.add(b)
    await projector.insert([row for event in (
        customer(tenant, late, version=1, status="won", created=TODAY, changed=TODAY, owner_id=REP_B),
        customer(tenant, c, version=2, status="won", created=TODAY, changed=TODAY, verb="updated",
                 changed_fields=("owner_id",), owner_id=REP_A),
        customer(tenant, b, version=2, status="won", created=TODAY, changed=TODAY, verb="deleted", owner_id=REP_A),
    ) for row in projector.rows(event)])
    await check(analytics, tenant, truth)
    # b restored; a reassigned to rep B by an update redelivered with its older version after it.
    truth.deleted.discard(b)
    truth.owner[a] = REP_B
    await projector.insert([row for event in (
        customer(tenant, b, version=3, status="won", created=TODAY, changed=TODAY, verb="updated",
                 changed_fields=("deleted",), owner_id=REP_A),
        customer(tenant, a, version=3, status="won", created=TODAY, changed=TODAY, verb="updated",
                 changed_fields=("owner_id",), owner_id=REP_B),
        customer(tenant, a, version=2, status="won", created=TODAY, changed=TODAY, verb="updated",
                 changed_fields=("owner_id",), owner_id=REP_A),
    ) for row in projector.rows(event)])
    await check(analytics, tenant, truth)
    # A merge moves c's latest orders to a by a new version (on another day), then c is deleted.
    moved = [dataclasses.replace(v, version=v.version + 1, customer_id=a, day=v.day - timedelta(days=1))
             for v in truth.orders.values() if v.customer_id == c]
    assert moved
    await projector.insert([row for v in moved for row in projector.rows(v.event(tenant))])
    for v in moved:
        truth.order(v)
    truth.deleted.add(c)
    await projector.insert(projector.rows(customer(tenant, c, version=3, status="won", created=TODAY, changed=TODAY,
                                                   verb="deleted", owner_id=REP_A)))
    await check(analytics, tenant, truth)
    # The backfill of a new install gives the same rows as the upkeep did.
    for table in ROLLUP_PROBES:
        await analytics.command(f"DROP TABLE IF EXISTS {table.name}")
    try:
        await ensure_schema(analytics, ROLLUP_PROBES)
        assert await day_rows(analytics, tenant, PROBE_DAYS.name) == expected_day_rows(truth)
    finally:
        for table in ROLLUP_PROBES:
            await analytics.command(f"DROP TABLE IF EXISTS {table.name}")
    # Erasure of b: the orders it holds go (no older version under another customer comes back).
    await rollup.forget_customer(analytics, tenant, b,
                                 lambda: erase_customer(analytics, ANALYTICS_TABLES, tenant, b))
    assert [v for v in truth.orders.values() if v.customer_id == b]
    truth.orders = {k: v for k, v in truth.orders.items() if v.customer_id != b}
    truth.owner.pop(b)
    await check(analytics, tenant, truth)


# The backfill, checked into copies under other names (the live tables stay in use by other tests).
PROBE_DAYS = dataclasses.replace(ORDERS_BY_DAY, name="probe_orders_by_day")
ROLLUP_PROBES = (PROBE_DAYS,)


async def test_rollup_backfill_matches_the_upkeep(analytics: Analytics, tenant: uuid.UUID) -> None:
    projector = EventProjector(analytics, ANALYTICS_TABLES)
    rng = random.Random(7)
    cids = [uuid.uuid4() for _ in range(5)]
    events = [customer(tenant, cid, version=1, status="won", created=TODAY, changed=TODAY,
                       owner_id=[REP_A, REP_B, ""][i % 3]) for i, cid in enumerate(cids)]
    events.append(customer(tenant, cids[0], version=2, status="won", created=TODAY, changed=TODAY, verb="deleted",
                           owner_id=REP_A))
    for _ in range(30):
        events.append(OrderVersion(uuid.uuid4(), 1, rng.choice(cids), Decimal(rng.randrange(100, 9999)) / 100,
                                   TODAY - timedelta(days=rng.randrange(0, 60)), rng.choice(COUNTED)).event(tenant))
    await projector.insert([row for event in events for row in projector.rows(event)])
    probe = dataclasses.replace(OWNER_SPEND_DAYS, name="probe_owner_spend_days")
    await analytics.command(f"DROP TABLE IF EXISTS {probe.name}")
    try:
        await ensure_schema(analytics, [probe])
        rows = await analytics.query(TenantQuery(probe, tenant, final=True).where("orders > 0").select(
            "toString(ordered_on) AS day", "owner_id", "toString(amount) AS amount", "orders"))
        assert {(str(r["day"]), str(r["owner_id"])): (Decimal(str(r["amount"])), int(r["orders"])) for r in rows} \
            == await rollup_slices(analytics, tenant)
    finally:
        await analytics.command(f"DROP TABLE IF EXISTS {probe.name}")
