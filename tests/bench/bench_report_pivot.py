"""Report builder pivots at scale (issue 15): definitions run by the reporting service's own code
(`crm_reporting.reports.engine.run`: the definition compiled through the tenant query builder with
the viewer's scope, the cell count, GROUPING SETS subtotals, the labelled PivotResult) on chDB,
against the same question with GROUPING SETS on PostgreSQL over the same rows, in the same run.

    nice -n 10 .venv/bin/python -m tests.bench.bench_report_pivot              # 1,000,000 customers, 10,000,000 orders
    .venv/bin/python -m tests.bench.bench_report_pivot --scale 0.1 --runs 20   # reduced: 100,000 / 1,000,000
    .venv/bin/python -m tests.bench.bench_report_pivot --data DIR --no-postgres  # chDB only, on kept data

`--data DIR` reuses the chDB data bench_report_export_rows.py keeps in DIR (the same generators;
its derived tables filled at open by `ensure_schema`); `--no-postgres` leaves out the PostgreSQL
copy and its questions (the copy of 10,000,000 orders takes minutes).

The rows are generated straight into chDB as bench_dashboards.py does (customers in 8 industries, 7
regions, 4 sources, 50 owners; status history; orders over three years), then copied into PostgreSQL
(embedded) with OLTP indexes. Reporting's tenant schema (value rules, user teams) is migrated in the
same PostgreSQL, as the service has it. Printed per pivot and viewer (admin: everyone; rep: one
owner's customers): p50 / p95 / p99 ms on each engine and the ratio. Not through HTTP: the gateway
and gRPC hop adds its constant (docs/benchmarks.md, API hot paths).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg

from crm_dev.infra import EmbeddedPostgres, free_port
from crm_platform import migrations
from crm_platform.auth import Principal
from crm_platform.db import create_engine, tenant_session
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.main import ANALYTICS_TABLES, DEFINITION
from crm_reporting.reports import engine as report_engine
from crm_reporting.reports.definition import check_definition
from tests.bench.bench_dashboards import (
    REP,
    TENANT,
    copy_to_postgres,
    customers_sql,
    orders_sql,
    refill_derived,
    settle_orders,
    status_sql,
)

PIVOTS: dict[str, dict[str, Any]] = {
    # Industry x top-level region rows, status columns: counts with subtotals (customers projection).
    "customers_industry_region_status": {
        "object": "customers", "rows": [{"field": "industry"}, {"field": "region", "level": 1}],
        "column": {"field": "status"}, "measures": [{"agg": "count"}]},
    # Orders per month and currency, last 12 months: count, amount, distinct customers.
    "orders_month_currency": {
        "object": "orders", "rows": [{"field": "ordered_on", "bucket": "month"}], "column": {"field": "currency"},
        "measures": [{"agg": "count"}, {"agg": "sum", "field": "amount"}, {"agg": "distinct_customers"}],
        "filters": [{"field": "order_status", "op": "in", "values": ["confirmed", "paid"]}],
        "time_range": {"range": "12m"}},
    # Customers per industry with their lifetime value (per-customer spend from every order joined).
    "customers_industry_value": {
        "object": "customers", "rows": [{"field": "industry"}],
        "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}]},
    # Conversion potential -> won per source (status history joined).
    "customers_source_conversion": {
        "object": "customers", "rows": [{"field": "source"}],
        "measures": [{"agg": "count"}, {"agg": "conversion", "from": "intent", "to": "won"}]},
}


def postgres_pivots(rep: bool) -> dict[str, str]:
    scope = f"AND c.owner_id = '{REP}'" if rep else ""
    return {
        "customers_industry_region_status":
            f"SELECT industry, region_top, status, count(*) FROM customers c WHERE NOT deleted {scope} "
            "GROUP BY GROUPING SETS ((industry, region_top, status), (industry, region_top), (industry, status), "
            "(industry), (status), ())",
        "orders_month_currency":
            "SELECT date_trunc('month', o.ordered_on), o.currency, count(*), sum(o.amount), "
            "count(DISTINCT o.customer_id) FROM orders o JOIN customers c ON c.id = o.customer_id "
            f"WHERE NOT c.deleted {scope} AND o.status IN ('confirmed', 'paid') "
            "AND o.ordered_on > current_date - interval '12 months' "
            "GROUP BY GROUPING SETS ((1, 2), (1), (2), ())",
        "customers_industry_value":
            "SELECT c.industry, count(*), sum(coalesce(v.ltv, 0)) FROM customers c LEFT JOIN (SELECT customer_id, "
            "sum(amount) AS ltv FROM orders WHERE kind = 'order' AND status IN ('confirmed', 'paid') AND currency "
            f"= 'CNY' AND ordered_on <= current_date GROUP BY 1) v ON v.customer_id = c.id WHERE NOT c.deleted {scope} "
            "GROUP BY ROLLUP (c.industry)",
        "customers_source_conversion":
            "SELECT c.source, count(*), "
            "sum(coalesce(s.converted, 0))::numeric / nullif(sum(coalesce(s.entered, 0)), 0) FROM customers c "
            "LEFT JOIN (SELECT customer_id, (count(*) FILTER (WHERE status = 'intent') > 0)::int AS "
            "entered, (count(*) FILTER (WHERE status = 'intent') > 0 AND max(changed_at) FILTER (WHERE status = "
            "'won') >= min(changed_at) FILTER (WHERE status = 'intent'))::int AS converted FROM status_changes "
            f"GROUP BY 1) s ON s.customer_id = c.id WHERE NOT c.deleted {scope} GROUP BY ROLLUP (c.source)",
    }


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return statistics.median(ordered), at(0.95), at(0.99)


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float, float, float]:
    """p50 / p95 / p99 wall ms, and the p50 CPU ms of this process (chDB's threads included)."""
    await call()  # warm
    samples, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return (*percentiles(samples), statistics.median(cpu))


async def main_async(scale: float, runs: int, data: Path | None, with_postgres: bool) -> None:
    customers, orders = int(1_000_000 * scale), int(10_000_000 * scale)
    base = Path(tempfile.mkdtemp(prefix="bench-report-pivot-"))
    kept = data is not None and (data / f"loaded-{customers}-{orders}").exists()
    analytics = await ChdbAnalytics.open(data / "chdb" if data is not None and kept else base / "chdb")
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    engine = None
    try:
        await ensure_schema(analytics, ANALYTICS_TABLES)
        if kept:
            print(f"chDB: reusing {customers:,} customers, {orders:,} orders in {data}", flush=True)
        else:
            started = time.monotonic()
            for sql in (customers_sql(customers), status_sql(), orders_sql(orders, customers)):
                await analytics._run(analytics._execute, sql)  # bench data, straight into the engine
            await refill_derived(analytics)  # the orders object reads orders_by_day
            print(f"chDB: {customers:,} customers, {orders:,} orders (and the status changes) loaded in "
                  f"{time.monotonic() - started:.1f} s (scale {scale})", flush=True)
        postgres.create_database("bench")
        url = postgres.url("bench", driver="postgresql")
        if with_postgres:
            await copy_to_postgres(analytics, url)
        service_url = postgres.url("bench")
        migrations.upgrade_control(service_url, DEFINITION.control_tree)
        migrations.upgrade_tenant(service_url, DEFINITION.tenant_tree, TENANT)
        engine = create_engine(service_url, pool_size=2)
        await settle_orders(analytics)

        print(f"\n{'pivot':34} {'viewer':6} {'cells':>6} {'chDB p50':>9} {'p95':>7} {'p99':>7} "
              f"{'CPU p50':>8} {'PG p50':>9} {'p95':>8} {'p99':>8} {'PG/chDB':>8}")
        with psycopg.connect(url, autocommit=True) as conn:
            for viewer in ("admin", "rep"):
                # The bench's owners are not users, so the rep's view is the admin's with an owner
                # filter: the same compiled condition (owner_id in a list) as data scope `own`.
                principal = Principal(subject="bench", tenant_id=TENANT, client_id="bench", user_id=uuid.uuid4(),
                                      scopes=frozenset({"reports:read"}))
                questions = postgres_pivots(viewer == "rep")
                for name, raw in PIVOTS.items():
                    definition = check_definition(
                        {**raw, "filters": [*raw.get("filters", []), {"field": "owner", "op": "eq", "values": [REP]}]}
                        if viewer == "rep" else raw)
                    cells = 0

                    async def run(definition: Any = definition, principal: Principal = principal) -> None:
                        nonlocal cells
                        async with tenant_session(engine, TENANT) as session:
                            result = await report_engine.run(analytics, session, principal, report_engine.RunRequest(
                                definition, time_zone="Asia/Shanghai"))
                        cells = len(result.cells) * len(result.measures)

                    ch = await timed(runs, run)

                    async def ask(sql: str = questions[name]) -> None:
                        conn.execute(sql).fetchall()

                    pg = await timed(max(3, runs // 4), ask) if with_postgres else None
                    asked = (f"{pg[0]:8.1f}ms {pg[1]:7.1f}ms {pg[2]:7.1f}ms {pg[0] / ch[0]:7.1f}x" if pg is not None
                             else "(no PostgreSQL)")
                    print(f"{name:34} {viewer:6} {cells:6d} {ch[0]:8.1f}ms {ch[1]:6.1f}ms {ch[2]:6.1f}ms "
                          f"{ch[3]:6.1f}ms {asked}", flush=True)
    finally:
        if engine is not None:
            await engine.dispose()
        await analytics.close()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="1.0 = 1,000,000 customers and 10,000,000 orders; 0.1 = a tenth")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--data", type=Path, help="reuse the chDB data bench_report_export_rows.py keeps here")
    parser.add_argument("--no-postgres", action="store_true", help="chDB only: no PostgreSQL copy or questions")
    args = parser.parse_args()
    asyncio.run(main_async(args.scale, args.runs, args.data, not args.no_postgres))


if __name__ == "__main__":
    main()
