"""The orders table's layout, old against new, on the same rows in the same run (docs/benchmarks.md,
"Dashboards and pivots at full scale"): the money panels (`PANELS[...].compute`, as
bench_dashboards.py times them) over

- `partitioned, merged`: the table as orders/tables.py declares it, each of its partitions folded
  into one part (the forced merge, a minute after the last write), where FINAL merges nothing;
- `partitioned, fresh write`: the same just after a write of 500 orders (new parts in a few
  partitions, which FINAL then merges);
- `unpartitioned (old)`: the previous layout (ORDER BY order_id, no partitions), the same rows
  copied in as generated, in the parts the engine left after its background merges.

    nice -n 10 .venv/bin/python -m tests.bench.bench_orders_layout --data /tmp/orderscale-data/layout

`--data` keeps the generated chDB data (1,000,000 customers, 9,000,000 orders by default) for a
later run. Printed per panel and viewer: wall p50 / p95 and CPU p50 (this process, chDB's threads
included), and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from crm_platform.auth import Principal
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.dashboards.audience import parse_object, parse_range
from crm_reporting.dashboards.panels import PANELS, PanelRequest
from crm_reporting.main import ANALYTICS_TABLES
from crm_reporting.orders.tables import ORDERS
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from tests.bench.bench_dashboards import (
    ORDER_PARTS,
    REP,
    TENANT,
    customers_sql,
    orders_sql,
    refill_derived,
    settle_orders,
    status_sql,
    timed,
)

OLD = "orders_unpartitioned"
MONEY_PANELS = ("kpis", "value_trend", "top_customers")


async def sql(analytics: ChdbAnalytics, statement: str) -> str:
    return (await analytics._run(analytics._execute, statement)).decode().strip()


async def main_async(data: Path, customers: int, orders: int, runs: int) -> None:
    fresh = not (data / "loaded").exists()
    analytics = await ChdbAnalytics.open(data / "chdb")
    try:
        await ensure_schema(analytics, ANALYTICS_TABLES)
        if fresh:
            started = time.monotonic()
            for statement in (customers_sql(customers), status_sql(), orders_sql(orders, customers)):
                await sql(analytics, statement)
            await refill_derived(analytics)  # the panels read the orders' derived tables
            (data / "loaded").write_text("")
            print(f"generated {customers:,} customers, {orders:,} orders in {time.monotonic() - started:.1f} s")
        columns = ", ".join(c.name for c in ORDERS.columns)
        old_ddl = ORDERS.create_sql(OLD).split("\nPARTITION BY")[0] + "\nORDER BY (tenant_id, order_id)"
        await sql(analytics, f"DROP TABLE IF EXISTS {OLD}")
        await sql(analytics, old_ddl)
        await sql(analytics, f"INSERT INTO {OLD} ({columns}) SELECT {columns} FROM orders")
        await settle_orders(analytics)
        today = datetime.now(UTC).date()
        principal = Principal(subject="bench", tenant_id=TENANT, user_id=uuid.uuid4(), client_id="bench",
                              scopes=frozenset({"reports:read"}))
        requests = {viewer: PanelRequest(TENANT, parse_object("all", scope, {}), parse_range("12m", "", "", today),
                                         today, principal)
                    for viewer, scope in (("admin", EVERY_CUSTOMER), ("rep", ReportScope((REP,))))}

        async def measure(layout: str) -> None:
            parts = await sql(analytics, ORDER_PARTS)
            print(f"\n{layout}: {parts} active parts; load average "
                  f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
            for viewer, request in requests.items():
                for name in MONEY_PANELS:
                    async def compute(name: str = name, request: PanelRequest = request) -> None:
                        await PANELS[name].compute(analytics, request)
                    wall50, wall95, cpu50 = await timed(runs, compute)
                    print(f"  {name:14} {viewer:6} wall p50 {wall50:8.1f} ms  p95 {wall95:8.1f} ms  "
                          f"CPU p50 {cpu50:8.1f} ms", flush=True)

        await measure("partitioned, merged")
        # A fresh write: 500 new versions of existing orders (as a status-change burst writes them).
        await sql(analytics, f"INSERT INTO orders ({columns}) SELECT {columns.replace('version', 'version + 1')} "
                             "FROM orders LIMIT 500")
        await measure("partitioned, fresh write of 500 orders")
        await sql(analytics, f"EXCHANGE TABLES orders AND {OLD}")
        try:
            await measure("unpartitioned (old layout)")
        finally:
            await sql(analytics, f"EXCHANGE TABLES orders AND {OLD}")
            await sql(analytics, f"DROP TABLE IF EXISTS {OLD}")
    finally:
        await analytics.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench-orders-layout"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=9_000_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    asyncio.run(main_async(args.data, args.customers, args.orders, args.runs))


if __name__ == "__main__":
    main()
