"""The home page's money panels read from the orders re-keyed by day, the per-owner daily spend
rollup and the per-customer spend (orders/rollup.py) against the previous code (`main`'s panels.py
at `--old-ref`, loaded from git: 9b3cfab before the rollup, 6332494 before the per-customer spend),
on the same chDB rows in the same run (docs/benchmarks.md, "Orders by day and the daily spend
rollup" and "Per-customer spend"):

    nice -n 10 .venv/bin/python -m tests.bench.bench_orders_rollup --data /tmp/ordersroll-data/full

`--data` holds (or gets: 1,000,000 customers, 9,000,000 orders by default, the generators of
bench_dashboards.py) the chDB data. The derived tables are dropped and filled again from `orders`
(the start-up backfill, timed). Printed per panel and viewer (admin: everyone; a rep: one of 50
owners): wall p50 / p95 and CPU p50 (this process, chDB's threads included) old and new, the home
page (the six panels in turn), then the upkeep: CPU of projecting one new order, a new order's
freshness on the panels, and a batch of 500 order versions (some moving day and customer).
Then the report builder's lifetime-value join (a customers pivot by industry: count, lifetime value,
order count) read from every counted order (the path before the per-customer spend, still taken
with the 12-month spend) against the per-customer spend, both checked equal; the per-customer part
of the upkeep of single orders; and the days of 500 customers' orders (what an owner change
recomputes) read by a scan of `orders` against the orders by customer.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import time
import types
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from crm_platform.auth import Principal
from crm_platform.events import CloudEvent, event_type, proto_data
from crm_proto.crm.events.v1 import events_pb2
from crm_reporting.analytics import TenantQuery
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.dashboards.audience import parse_object, parse_range
from crm_reporting.dashboards.panels import PANELS, PanelRequest
from crm_reporting.orders import rollup
from crm_reporting.orders.tables import ORDERS
from crm_reporting.projection import EventProjector
from crm_reporting.reports.engine import lifetime_by_customer, spend_by_orders
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from tests.bench.bench_dashboards import (
    REP,
    TENANT,
    customers_sql,
    orders_sql,
    refill_derived,
    settle_orders,
    status_sql,
    timed,
)

HOME = ("kpis", "industry", "region", "value_trend", "new_by_source", "top_customers")
MONEY = ("kpis", "value_trend", "top_customers")
OLD_REF = "6332494"  # main before the per-customer spend (9b3cfab: before the rollup)


def old_panels(ref: str = OLD_REF) -> Any:
    """`main`'s panels module at `ref`, as a module of its own (its imports all still exist)."""
    source = subprocess.run(["git", "show", f"{ref}:services/reporting/crm_reporting/dashboards/panels.py"],
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType("old_panels")
    sys.modules["old_panels"] = module  # its dataclasses look their module up
    exec(compile(source, "old_panels.py", "exec"), module.__dict__)  # the repo's own code at a commit
    return module


async def same(old: Any, analytics: ChdbAnalytics, name: str, request: PanelRequest) -> None:
    """The old and the new code give the same points (the rollup's exactness at scale)."""
    figures = [[dataclasses.astuple(p) for p in (await panels[name].compute(analytics, request)).points]
               for panels in (old.PANELS, PANELS)]
    assert figures[0] == figures[1], (name, figures)


def order_event(order_id: uuid.UUID, version: int, customer: int, day: str, amount: str) -> CloudEvent:
    message = events_pb2.OrderRecorded(
        order_id=str(order_id), external_id="", kind="order", amount=amount, currency="CNY", ordered_on=day,
        status="paid", version=version,
        customer_id=f"00000000-0000-4000-8000-{customer:012x}")
    return CloudEvent.new(source="customers", type=event_type("order", "recorded"), tenant_id=TENANT,
                          data=proto_data(message))


def lifetime_pivot(request: PanelRequest, source: TenantQuery) -> TenantQuery:
    """The report builder's customers pivot by industry with lifetime value and order count, as
    `reports/engine.py` compiles it (the customers of the audience, the per-customer figures left
    joined, narrowed to those customers unless the viewer sees everyone)."""
    customers = request.audience.customers(TenantQuery(CUSTOMERS, request.tenant_id, final=True))
    narrowed = request.audience.scope.owners is not None
    joined = source.where_in("customer_id", customers.select("customer_id")) if narrowed else source
    return (customers.left_join("v", joined)
            .select("industry", "count() AS customers", "toString(sum(v.lifetime_value)) AS lifetime",
                    "sum(v.orders) AS orders").group_by("industry").order_by("industry"))


class Meter:
    """CPU spent inside a wrapped coroutine function (this process, chDB's threads included)."""

    def __init__(self) -> None:
        self.cpu = 0.0

    def wrap(self, module: Any, name: str) -> None:
        original = getattr(module, name)

        async def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await original(*args, **kwargs)
            finally:
                self.cpu += time.process_time() - started
        setattr(module, name, timed_call)


async def main_async(data: Path, customers: int, orders: int, runs: int, old_ref: str, keep_derived: bool) -> None:
    analytics = await ChdbAnalytics.open(data / "chdb")
    try:
        if not (data / "loaded").exists():
            from crm_reporting.analytics.schema import ensure_schema
            from crm_reporting.main import ANALYTICS_TABLES
            await ensure_schema(analytics, ANALYTICS_TABLES)
            for statement in (customers_sql(customers), status_sql(), orders_sql(orders, customers)):
                await analytics._run(analytics._execute, statement)
            (data / "loaded").write_text("")
        started, cpu = time.monotonic(), time.process_time()
        if keep_derived and (data / "derived").exists():
            # The derived tables of an earlier run (the start-up step still adds what is missing and
            # moves a table whose declared layout changed).
            from crm_reporting.analytics.schema import ensure_schema
            from crm_reporting.main import ANALYTICS_TABLES
            await ensure_schema(analytics, ANALYTICS_TABLES)
            print(f"derived tables kept (schema step {time.monotonic() - started:.1f} s wall, "
                  f"{time.process_time() - cpu:.1f} s CPU)", flush=True)
        else:
            await refill_derived(analytics)
            (data / "derived").write_text("")
            print(f"derived tables filled from orders in {time.monotonic() - started:.1f} s wall, "
                  f"{time.process_time() - cpu:.1f} s CPU", flush=True)
        await settle_orders(analytics)
        old = old_panels(old_ref)
        today = datetime.now(UTC).date()
        principal = Principal(subject="bench", tenant_id=TENANT, user_id=uuid.uuid4(), client_id="bench",
                              scopes=frozenset({"reports:read"}))
        requests = {viewer: PanelRequest(TENANT, parse_object("all", scope, {}), parse_range("12m", "", "", today),
                                         today, principal)
                    for viewer, scope in (("admin", EVERY_CUSTOMER), ("rep", ReportScope((REP,))))}
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, {datetime.now(UTC):%H:%M} UTC")
        print(f"{'panel':14} {'viewer':6} {'old wall p50/p95':>18} {'old CPU':>8} {'new wall p50/p95':>18} "
              f"{'new CPU':>8}", flush=True)
        for viewer, request in requests.items():
            for name in (*MONEY, "home"):
                names = HOME if name == "home" else (name,)
                figures = []
                for panels in (old.PANELS, PANELS):
                    async def compute(panels: Any = panels, names: tuple[str, ...] = names,
                                      request: PanelRequest = request) -> None:
                        for n in names:
                            await panels[n].compute(analytics, request)
                    figures.append(await timed(max(3, runs // 2) if name == "home" else runs, compute))
                (o50, o95, ocpu), (n50, n95, ncpu) = figures
                print(f"{name:14} {viewer:6} {o50:8.1f} /{o95:8.1f} {ocpu:7.1f}  {n50:8.1f} /{n95:8.1f} {ncpu:7.1f}",
                      flush=True)
                # Same figures, old and new (the money ones): the rollup's exactness at scale.
                if name != "home":
                    await same(old, analytics, name, request)

        projector = EventProjector(analytics)
        # One new order (as a sale recorded now): CPU of its projection, and until the panels show it.
        before = (await PANELS["kpis"].compute(analytics, requests["admin"])).points
        cpu, started = time.process_time(), time.monotonic()
        await projector.insert(projector.rows(order_event(uuid.uuid4(), 1, 7, today.isoformat(), "1234.5")))
        projected = time.monotonic() - started
        after = (await PANELS["kpis"].compute(analytics, requests["admin"])).points
        shown = time.monotonic() - started
        spend = {p.key: Decimal(p.value) for p in after if p.currency == "CNY" and p.key == "spend_this_quarter"}
        spent = {p.key: Decimal(p.value) for p in before if p.currency == "CNY" and p.key == "spend_this_quarter"}
        assert spend["spend_this_quarter"] - spent["spend_this_quarter"] == Decimal("1234.5")
        print(f"\none new order: projected (orders, orders_by_day, rollup) in {projected * 1000:.0f} ms wall, "
              f"{(time.process_time() - cpu) * 1000:.0f} ms CPU; on the KPI panel after {shown * 1000:.0f} ms",
              flush=True)
        # 500 versions: 250 new orders, then 250 of them again one day earlier and moved to another customer.
        ids = [uuid.uuid4() for _ in range(250)]
        events = [order_event(i, 1, n * 37 % customers, (today - timedelta(days=n)).isoformat(), "10")
                  for n, i in enumerate(ids)]
        events += [order_event(i, 2, n * 41 % customers, (today - timedelta(days=n + 1)).isoformat(), "20")
                   for n, i in enumerate(ids)]
        cpu, started = time.process_time(), time.monotonic()
        await projector.insert([row for event in events for row in projector.rows(event)])
        print(f"500 order versions in one batch: {(time.monotonic() - started) * 1000:.0f} ms wall, "
              f"{(time.process_time() - cpu) * 1000:.0f} ms CPU", flush=True)
        for name in MONEY:
            for request in requests.values():
                await same(old, analytics, name, request)
        print(f"old and new panels agree after the writes; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {datetime.now(UTC):%H:%M} UTC", flush=True)

        # The report builder's lifetime-value join, old source and new, the same answer.
        print(f"\nlifetime-value pivot (customers by industry: count, lifetime value, order count), "
              f"{datetime.now(UTC):%H:%M} UTC")
        for viewer, request in requests.items():
            figures = []
            answers = []
            for source in (spend_by_orders(TENANT, "CNY", today).group_by("customer_id"),
                           lifetime_by_customer(TENANT, "CNY", today)):
                query = lifetime_pivot(request, source)
                figures.append(await timed(runs, lambda query=query: analytics.query(query)))
                answers.append(await analytics.query(query))
            assert answers[0] == answers[1], answers
            (o50, o95, ocpu), (n50, n95, ncpu) = figures
            print(f"{'lifetime pivot':14} {viewer:6} {o50:8.1f} /{o95:8.1f} {ocpu:7.1f}  {n50:8.1f} /{n95:8.1f} "
                  f"{ncpu:7.1f}", flush=True)

        # The upkeep of single orders, and the per-customer part of it.
        by_customer, spend = Meter(), Meter()
        by_customer.wrap(rollup, "_write_by_customer")
        spend.wrap(rollup, "recompute_customers")
        costs = []
        for n in range(5):
            cpu = time.process_time()
            await projector.insert(projector.rows(order_event(uuid.uuid4(), 1, 1000 + n * 7919 % customers,
                                                              (today - timedelta(days=n * 3)).isoformat(), "99")))
            costs.append((time.process_time() - cpu) * 1000)
        print(f"5 single new orders: {' '.join(f'{c:.0f}' for c in costs)} ms CPU each; of the total "
              f"{sum(costs):.0f} ms, orders_by_customer written {by_customer.cpu * 1000:.0f} ms, "
              f"customer_spend recomputed {spend.cpu * 1000:.0f} ms", flush=True)
        for name in MONEY:
            for request in requests.values():
                await same(old, analytics, name, request)

        # The days of 500 customers' orders (an owner change recomputes them): scan vs by customer.
        some = [uuid.UUID(f"00000000-0000-4000-8000-{n * 1999 % customers:012x}") for n in range(500)]
        scan = (TenantQuery(ORDERS, TENANT).select("DISTINCT ordered_on AS day")
                .where("customer_id IN {day_customers:Array(UUID)}", day_customers=some))
        scanned = {str(r["day"]) for r in await analytics.query(scan)}
        keyed = {d.isoformat() for d in await rollup.customer_days(analytics, TENANT, some)}
        assert scanned <= keyed, "the orders by customer miss days"
        old_days = await timed(3, lambda: analytics.query(scan))
        new_days = await timed(3, lambda: rollup.customer_days(analytics, TENANT, some))
        print(f"days of 500 customers' orders ({len(scanned)} days): scan of orders {old_days[2]:.0f} ms CPU, "
              f"orders by customer {new_days[2]:.0f} ms CPU; load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}, {datetime.now(UTC):%H:%M} UTC", flush=True)
    finally:
        await analytics.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-orders-rollup"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=9_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--old-ref", default=OLD_REF, help="the commit whose panels.py is the old code")
    parser.add_argument("--keep-derived", action="store_true",
                        help="keep the derived tables an earlier run on --data filled (the rows this run wrote stay)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(args.data, args.customers, args.orders, args.runs, args.old_ref, args.keep_derived))


if __name__ == "__main__":
    main()
