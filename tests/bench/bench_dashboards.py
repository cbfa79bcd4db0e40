"""Dashboard panels at scale (issue 11 P4): each panel's queries on ClickHouse (chDB, the panel code
itself: `PANELS[...].compute`, the builder's SQL with data scope compiled in) against the same
question asked of PostgreSQL over the same rows, in the same run.

    nice -n 10 .venv/bin/python tests/bench/bench_dashboards.py                         # 1,000,000 customers
    .venv/bin/python tests/bench/bench_dashboards.py --customers 100000 --orders 1000000  # reduced

The history is generated straight into chDB (`INSERT ... SELECT FROM numbers()`): customers in 8
industries, 7 regions, 4 sources, 50 owners, statuses with their status changes, and orders over
three years (kind order, 80% confirmed or paid, 5% in USD), then copied as CSV into PostgreSQL
(embedded) with the indexes an OLTP schema would have. Printed per panel and viewer (the admin:
everyone; a rep: one owner's customers): p50 / p95 ms over `--runs` runs on each engine, and the
ratio. Not through HTTP: the API adds its constant hop (docs/benchmarks.md, API hot paths).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from crm_dev.infra import EmbeddedPostgres, free_port
from crm_platform.auth import Principal
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.dashboards.audience import add_months, parse_object, parse_range, quarter_start
from crm_reporting.dashboards.panels import PANELS, PanelRequest
from crm_reporting.main import ANALYTICS_TABLES
from crm_reporting.orders.rollup import ROLLUP_TABLES
from crm_reporting.orders.tables import ORDER_PARTITIONS
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope

TENANT = uuid.UUID("0193a000-0000-7000-8000-00000000b1e5")
REP = "owner-7"
ID = "toUUID(concat('00000000-0000-4000-8000-', leftPad(lower(hex({n})), 12, '0')))"
INDUSTRIES = "['制造业','零售','教育','金融','医疗','信息技术','能源','物流']"
REGIONS = "['华北','华东','华南','华中','西南','西北','东北']"


def customers_sql(count: int) -> str:
    return f"""
INSERT INTO customers (tenant_id, customer_id, version, type, industry, region, status, owner_id, created_at,
  updated_at, deleted, event_id, name, code, source, region_top, first_contact_on)
SELECT toUUID('{TENANT}'), {ID.format(n="number")}, 1, 'enterprise', {INDUSTRIES}[number % 8 + 1],
  concat({REGIONS}[intDiv(number, 8) % 7 + 1], '/城市'),
  ['potential','intent','won','lost'][cityHash64(number) % 4 + 1],
  concat('owner-', toString(number % 50)), now64(6) - toIntervalSecond(cityHash64(number, 1) % 94608000),
  now64(6), 0, '', concat('客户', toString(number)), '', ['web','expo','referral','ad'][number % 4 + 1],
  {REGIONS}[intDiv(number, 8) % 7 + 1], toDate32(now64(6) - toIntervalSecond(cityHash64(number, 1) % 94608000))
FROM numbers({count})"""


def status_sql() -> str:
    # Each intent / won customer entered intent (and won) after creation.
    return f"""
INSERT INTO customer_status_changes (tenant_id, customer_id, version, status, changed_at, event_id)
SELECT tenant_id, customer_id, v, s, created_at + toIntervalDay(v * 20), ''
FROM customers FINAL ARRAY JOIN [1, 2] AS v, ['intent', 'won'] AS s
WHERE tenant_id = toUUID('{TENANT}') AND (status = 'won' OR (status = 'intent' AND v = 1))"""


def orders_sql(count: int, customers: int) -> str:
    return f"""
INSERT INTO orders (tenant_id, order_id, version, external_id, customer_id, kind, amount, currency, ordered_on,
  status, event_id)
SELECT toUUID('{TENANT}'), generateUUIDv4(number), 1, '', {ID.format(n=f"(cityHash64(number) % {customers})")},
  'order', toDecimal128((cityHash64(number, 2) % 2000000) / 100, 4), if(number % 20 = 0, 'USD', 'CNY'),
  toDate32(today() - (cityHash64(number, 3) % 1095)), ['paid','confirmed','paid','pending','cancelled'][number % 5 + 1],
  ''
FROM numbers({count})"""


POSTGRES_DDL = """
CREATE TABLE customers (id uuid PRIMARY KEY, industry text, region_top text, status text, owner_id text,
  created_at timestamptz, deleted boolean, name text, source text, first_contact_on date);
CREATE TABLE orders (customer_id uuid, kind text, amount numeric(38, 4), currency text, ordered_on date, status text);
CREATE TABLE status_changes (customer_id uuid, status text, changed_at timestamptz);
"""
POSTGRES_INDEXES = """
CREATE INDEX ON customers (owner_id); CREATE INDEX ON customers (created_at); CREATE INDEX ON orders (customer_id);
CREATE INDEX ON orders (ordered_on); CREATE INDEX ON status_changes (status, changed_at); ANALYZE;
"""
EXPORTS = {
    "customers": ("SELECT customer_id, industry, region_top, status, owner_id, created_at, deleted, name, source, "
                  "first_contact_on FROM customers FINAL WHERE tenant_id = toUUID('{t}')"),
    "orders": "SELECT customer_id, kind, amount, currency, ordered_on, status FROM orders "
              "WHERE tenant_id = toUUID('{t}')",
    "status_changes": "SELECT customer_id, status, changed_at FROM customer_status_changes "
                      "WHERE tenant_id = toUUID('{t}')",
}


def postgres_questions(rep: bool) -> dict[str, list[str]]:
    """The panels' questions in PostgreSQL, with the same audience (non-deleted; the rep's own)."""
    today = datetime.now(UTC).date()
    quarter, month = quarter_start(today), today.replace(day=1)
    last, year_before = add_months(quarter, -3), add_months(quarter, -12)
    start = parse_range("12m", "", "", today).start
    scope = f"AND c.owner_id = '{REP}'" if rep else ""
    audience = f"FROM customers c WHERE NOT c.deleted {scope}"
    orders = (f"FROM orders o JOIN customers c ON c.id = o.customer_id WHERE NOT c.deleted {scope} "
              "AND o.kind = 'order' AND o.status IN ('confirmed', 'paid')")
    return {
        "kpis": [
            f"SELECT count(*), count(*) FILTER (WHERE created_at >= '{month}'), count(*) FILTER (WHERE created_at >= "
            f"'{quarter}'), count(*) FILTER (WHERE status = 'won') {audience}",
            f"SELECT count(DISTINCT s.customer_id) FROM status_changes s JOIN customers c ON c.id = s.customer_id "
            f"WHERE NOT c.deleted {scope} AND s.status = 'won' AND s.changed_at >= '{quarter}'",
            f"SELECT count(*) {audience} AND c.status = 'won' AND c.id IN (SELECT customer_id FROM orders WHERE "
            f"kind = 'order' AND status IN ('confirmed', 'paid') AND ordered_on > '{add_months(today, -12)}')",
            f"SELECT o.currency, sum(o.amount) FILTER (WHERE o.ordered_on >= '{quarter}'), sum(o.amount) FILTER "
            f"(WHERE o.ordered_on >= '{last}' AND o.ordered_on < '{quarter}'), sum(o.amount) FILTER (WHERE "
            f"o.ordered_on < '{add_months(year_before, 3)}') {orders} AND o.ordered_on >= '{year_before}' GROUP BY 1",
        ],
        "industry": [f"SELECT industry, count(*) {audience} GROUP BY 1 ORDER BY 2 DESC"],
        "region": [f"SELECT region_top, count(*) {audience} GROUP BY 1 ORDER BY 2 DESC"],
        "value_trend": [f"SELECT date_trunc('quarter', o.ordered_on), o.currency, sum(o.amount), count(*) {orders} "
                        f"AND o.ordered_on >= '{start}' GROUP BY 1, 2 ORDER BY 1, 2"],
        "new_by_source": [f"SELECT source, count(*) {audience} AND created_at >= '{start}' GROUP BY 1 ORDER BY 2 DESC"],
        "top_customers": [f"SELECT o.customer_id, sum(o.amount) {orders} AND o.currency = 'CNY' AND o.ordered_on >= "
                          f"'{start}' GROUP BY 1 ORDER BY 2 DESC LIMIT 10"],
    }


ORDER_PARTS = "SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'orders' AND active"


async def copy_to_postgres(analytics: ChdbAnalytics, url: str) -> None:
    """The same rows as chDB's into PostgreSQL (the comparison's tables, then its OLTP indexes)."""
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(POSTGRES_DDL)
        for table, query in EXPORTS.items():
            data: bytes = await analytics._run(analytics._execute, query.format(t=TENANT), "CSV")
            with conn.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(data)
        conn.execute(POSTGRES_INDEXES)
    print(f"PostgreSQL: same rows copied and indexed in {time.monotonic() - started:.1f} s", flush=True)


async def refill_derived(analytics: ChdbAnalytics) -> None:
    """The tables derived from the orders (orders/rollup.py) dropped and filled again from the rows
    generated straight into `orders` (the projector never saw them), as the start-up backfill fills them."""
    for table in ROLLUP_TABLES:
        await analytics.command(f"DROP TABLE IF EXISTS {table.name}")
    await ensure_schema(analytics, ANALYTICS_TABLES)


async def settle_orders(analytics: ChdbAnalytics, limit_s: float = 600) -> None:
    """Waits (bounded) for the orders' forced merges (orders/tables.py: each partition folds into one
    part a minute after its last write), the state the dashboards read between bursts of writes,
    and prints the parts the timings below read."""
    started = time.monotonic()
    parts = int(await analytics._run(analytics._execute, ORDER_PARTS))
    while parts > ORDER_PARTITIONS and time.monotonic() - started < limit_s:
        await asyncio.sleep(5)
        parts = int(await analytics._run(analytics._execute, ORDER_PARTS))
    print(f"orders: {parts} active parts in {ORDER_PARTITIONS} partitions "
          f"(waited {time.monotonic() - started:.0f} s for the forced merges)", flush=True)


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, float, float]:
    """p50 and p95 wall ms, and the p50 CPU ms of this process (chDB runs in it: its threads'
    time counts, PostgreSQL's backend does not), a figure the other sessions' load barely moves."""
    await call()  # warm
    samples, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    samples.sort()
    return (statistics.median(samples), samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))],
            statistics.median(cpu))


async def main_async(customers: int, orders: int, runs: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-dashboards-"))
    analytics = await ChdbAnalytics.open(base / "chdb")
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    try:
        await ensure_schema(analytics, ANALYTICS_TABLES)
        started = time.monotonic()
        for sql in (customers_sql(customers), status_sql(), orders_sql(orders, customers)):
            await analytics._run(analytics._execute, sql)  # bench data, straight into the engine
        await refill_derived(analytics)
        print(f"chDB: {customers:,} customers, {orders:,} orders (and the status changes) loaded in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        postgres.create_database("bench")
        url = postgres.url("bench", driver="postgresql")
        await copy_to_postgres(analytics, url)

        await settle_orders(analytics)
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        today = datetime.now(UTC).date()
        principal = Principal(subject="bench", tenant_id=TENANT, user_id=uuid.uuid4(), client_id="bench",
                              scopes=frozenset({"reports:read"}))
        print(f"\n{'panel':14} {'viewer':6} {'chDB p50':>9} {'p95':>7} {'CPU p50':>8} {'PG p50':>9} {'p95':>8} "
              f"{'PG/chDB':>8}")
        with psycopg.connect(url, autocommit=True) as conn:
            for viewer, scope in (("admin", EVERY_CUSTOMER), ("rep", ReportScope((REP,)))):
                questions = postgres_questions(viewer == "rep")
                request = PanelRequest(TENANT, parse_object("all", scope, {}), parse_range("12m", "", "", today),
                                       today, principal)
                # The panels with a question here (the satisfaction panels have no generated feedback),
                # then the whole home page: every one of them in turn, as the page asks for them.
                for name in [*questions, "home"]:
                    panels = [PANELS[n] for n in questions] if name == "home" else [PANELS[name]]
                    sqls = [sql for n in questions for sql in questions[n]] if name == "home" else questions[name]

                    async def compute(panels: list[Any] = panels, request: PanelRequest = request) -> None:
                        for panel in panels:
                            await panel.compute(analytics, request)

                    ch = await timed(max(3, runs // 4) if name == "home" else runs, compute)

                    async def ask(sqls: list[str] = sqls) -> None:
                        for sql in sqls:
                            conn.execute(sql).fetchall()

                    pg = await timed(max(3, runs // 4), ask)
                    print(f"{name:14} {viewer:6} {ch[0]:8.1f}ms {ch[1]:6.1f}ms {ch[2]:6.1f}ms "
                          f"{pg[0]:8.1f}ms {pg[1]:7.1f}ms {pg[0] / ch[0]:7.1f}x", flush=True)
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    finally:
        await analytics.close()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=9_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main_async(args.customers, args.orders, args.runs))


if __name__ == "__main__":
    main()
