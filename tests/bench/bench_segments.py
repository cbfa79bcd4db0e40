"""Segment live counts (issue 14, "Segments": <= 200 ms at 1,000,000 customers): a saved segment's
count through the code path the gRPC servicer uses (`Segments.count` with the caller's principal:
the customer list's filter with the segment's tags, field filters and value metrics, data scope
and field policies compiled into one count).

    .venv/bin/python -m tests.bench.bench_segments --scale 1000000 --data /tmp/segcount-data

Starts its own embedded Postgres, migrates one tenant schema with the real migrations, loads
customers as tests/bench/bench_customer_list.py does (tags on 30%, 10% and 0.1% of them) plus
orders (about 1.5 per customer over two years), saves the segments below, and times each count at
`--baseline` customers and at `--scale`, printing p50/p95 next to the baseline, next to the
plain count of every customer (what any exact count over that many rows costs) and next to the
spend and order metrics computed as before the value metrics projection (an aggregate over the
window's orders), whose counts the projection's must equal, next to three segments counted on
the customers rows as before the facts table (c0240), and next to the metric segments counted on
the facts as before c0261 (a stale figure as a correlated subquery, which keeps the scan on one
core). CPU per count (this process and PostgreSQL's) is printed next to wall time. `--data DIR`
keeps the generated databases and reuses them later; `--cases` / `--skip` choose cases by name.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer import facts as customer_facts
from crm_customers.customer import repository as customer_repository
from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.repository import ListFilter
from crm_customers.customer.tables import customers
from crm_customers.main import DEFINITION
from crm_customers.metrics import repository as metrics_repository
from crm_customers.orders.tables import orders
from crm_customers.segments.definition import Definition
from crm_customers.segments.service import SegmentChanges, Segments
from crm_platform import migrations
from crm_platform.db import create_engine, tenant_session
from tests.bench.bench_customer_list import (
    TAG_COMMON,
    TAG_MID,
    TAG_RARE,
    Timing,
    World,
    copy_rows,
    generate,
    load_dictionaries,
    make_world,
    new_service,
    new_tenant,
    principal,
)

ORDER_STATUSES: Final = [("paid", 60), ("confirmed", 20), ("pending", 10), ("cancelled", 7), ("refunded", 3)]


@dataclass(frozen=True)
class SegmentShape:
    name: str
    who: str
    definition: Definition


SHAPES: Final[list[SegmentShape]] = [
    SegmentShape("tag 30% AND NOT tag 10%", "all",
                 Definition(all_tags=(str(TAG_COMMON),), none_tags=(str(TAG_MID),))),
    SegmentShape("any of tag 10% / tag 0.1%", "all", Definition(any_tags=(str(TAG_MID), str(TAG_RARE)))),
    SegmentShape("tag 30% + status + cf.level", "all",
                 Definition(all_tags=(str(TAG_COMMON),), filters={"status": "won", "cf.level": "A"})),
    SegmentShape("spend 12m >= 50,000", "all", Definition(spend_12m_min="50000")),
    SegmentShape("spend 12m <= 1,000 (incl. no orders)", "all", Definition(spend_12m_max="1000")),
    SegmentShape("orders 30d >= 1", "all", Definition(orders_30d_min="1")),
    SegmentShape("tag 30% NOT tag 10% + spend >= 10,000", "all",
                 Definition(all_tags=(str(TAG_COMMON),), none_tags=(str(TAG_MID),), spend_12m_min="10000")),
    SegmentShape("rep (own): tag 30% + spend >= 10,000", "own",
                 Definition(all_tags=(str(TAG_COMMON),), spend_12m_min="10000")),
    SegmentShape("manager (team): tag NOT + orders 30d", "team",
                 Definition(none_tags=(str(TAG_MID),), orders_30d_min="1")),
]


# --cases: only the cases whose names contain one of these (empty: all); --skip: not those.
CASE_FILTER: list[str] = []
CASE_SKIP: list[str] = []
# Segments also timed as counted before c0240 (on the customers rows), in the same run.
BEFORE_C0240: Final = ("tag 30% AND NOT tag 10%", "spend 12m >= 50,000", "tag 30% NOT tag 10% + spend >= 10,000")
# And as counted on the facts before c0261 (a stale figure as a correlated subquery: one core).
BEFORE_C0261: Final = ("spend 12m >= 50,000", "orders 30d >= 1", "tag 30% NOT tag 10% + spend >= 10,000")


def orders_for(customer_ids: list[uuid.UUID], seed: int = 5) -> Iterator[list[Any]]:
    """About 1.5 orders per customer: 40% of customers order, 1-7 times over two years."""
    rng = random.Random(seed)
    today = date.today()
    statuses = [s for s, _ in ORDER_STATUSES]
    weights = [w for _, w in ORDER_STATUSES]
    for customer_id in customer_ids:
        if rng.random() >= 0.4:
            continue
        for _ in range(rng.randint(1, 7)):
            yield [uuid.UUID(int=rng.getrandbits(128), version=4), f"E{rng.getrandbits(64):x}", "order", customer_id,
                   f"{rng.randrange(100, 200_000)}.00", "CNY", today - timedelta(days=rng.randrange(730)),
                   rng.choices(statuses, weights)[0], 1, "bench", "bench"]


def copy_orders(sync_url: str, schema: str, customer_ids: list[uuid.UUID], seed: int) -> int:
    count = 0
    with psycopg.connect(sync_url) as conn, conn.cursor() as cur:
        with cur.copy(f'COPY "{schema}".orders (id, external_id, kind, customer_id, amount, currency, ordered_on, '
                      "status, version, created_by, updated_by) FROM STDIN") as copy:
            for row in orders_for(customer_ids, seed):
                copy.write_row(row)
                count += 1
        conn.commit()
        conn.autocommit = True
        conn.execute(f'ANALYZE "{schema}".orders')
    return count


def load(sync_url: str, schema: str, start: int, count: int, world: World) -> tuple[int, int]:
    rows = list(generate(start, count, world))
    loaded = copy_rows(sync_url, schema, iter(rows))
    orders = copy_orders(sync_url, schema, [r["id"] for r in rows], seed=start + 1)
    return loaded, orders


async def project_metrics(engine: AsyncEngine, tenant: uuid.UUID, sync_url: str, schema: str) -> None:
    """The value metrics projection of the COPYed orders (the order service keeps it when it writes)."""
    async with tenant_session(engine, tenant) as session:
        await metrics_repository.rebuild(session)
    with psycopg.connect(sync_url, autocommit=True) as conn:
        for table in ("customer_spend_12m", "customer_orders_30d"):
            conn.execute(f'VACUUM ANALYZE "{schema}".{table}')


async def save_segments(engine: AsyncEngine, tenant: uuid.UUID, world: World) -> dict[str, str]:
    service = Segments(new_service())
    admin = principal(tenant, "all", world, 0)
    ids = {}
    async with tenant_session(engine, tenant) as session:
        for shape in SHAPES:
            row = await service.create(session, admin, SegmentChanges(
                name=shape.name, visibility="shared", definition=shape.definition))
            ids[shape.name] = str(row.id)
    return ids


TICK_MS: Final = 1000 / os.sysconf("SC_CLK_TCK")


def postgres_cpu_ms(postmaster: int) -> float:
    """CPU time (user + system) of the PostgreSQL server so far: the postmaster, its live children
    (the pool's backends) and the children it has reaped (a count's parallel workers)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        pid, parent = int(entry), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        elif parent == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total * TICK_MS


async def time_counts(engine: AsyncEngine, tenant: uuid.UUID, world: World, ids: dict[str, str],
                      runs: int, postmaster: int) -> tuple[dict[str, Timing], dict[str, Timing], dict[str, int]]:
    """Wall ms and CPU ms (this process plus PostgreSQL, summed over the runs: the clock ticks
    are 10 ms) of each case, and its count."""
    service = Segments(new_service())
    timings: dict[str, Timing] = {}
    cpu: dict[str, Timing] = {}
    counts: dict[str, int] = {}

    async def plain(i: int, on_customers: bool) -> int:
        caller = principal(tenant, "all", world, i)
        async with tenant_session(engine, tenant) as session:
            filters, _, _ = await service.customers.list_filter(session, order_by="", caller=caller,
                                                                query=ListQuery())
            if on_customers:
                return await on_customers_table(session, filters)
            return await customer_repository.count(session, filters)

    async def on_customers_table(session: Any, filters: ListFilter) -> int:
        """The count as it was before c0240: the list's statement on the wide customers rows."""
        query = customer_repository._where(sa.select(sa.func.count()).select_from(customers), filters)
        return int((await session.execute(query)).scalar_one())

    async def segment_before(shape: SegmentShape, i: int) -> int:
        caller = principal(tenant, shape.who, world, i)
        async with tenant_session(engine, tenant) as session:
            inner = await service.customers.definition_filter(session, caller, shape.definition, [], "definition")
            assert inner is not None
            filters, _, _ = await service.customers.list_filter(session, order_by="", caller=caller,
                                                                query=ListQuery())
            inner.own_only = filters.own_only
            filters.segment = inner
            return await on_customers_table(session, filters)

    async def segment(shape: SegmentShape, i: int) -> int:
        async with tenant_session(engine, tenant) as session:
            counted = await service.count(session, principal(tenant, shape.who, world, i), ids[shape.name])
            return counted.count

    async def segment_before_c0261(shape: SegmentShape, i: int) -> int:
        live: dict[str, Any] = {
            "_LiveSpend": lambda customer, currency: metrics_repository.live_value(customer, "spend_12m", currency),
            "_LiveOrders": lambda customer: metrics_repository.live_value(customer, "orders_30d"),
        }
        saved = {name: getattr(customer_facts, name) for name in live}
        for name, value in live.items():
            setattr(customer_facts, name, value)
        try:
            return await segment(shape, i)
        finally:
            for name, value in saved.items():
                setattr(customer_facts, name, value)

    async def aggregated(currency_days: tuple[str | None, int], lowest: Decimal | int, i: int) -> int:
        """The metric as segments computed it before the projection (c0200): counted orders of the
        window grouped by customer, HAVING the figure in range, then the semi-join."""
        currency, days = currency_days
        figure = sa.func.sum(orders.c.amount) if currency else sa.func.count()
        grouped = (sa.select(orders.c.customer_id).where(*metrics_repository.counted(days, currency))
                   .group_by(orders.c.customer_id).having(figure >= lowest))
        async with tenant_session(engine, tenant) as session:
            return int((await session.execute(sa.select(sa.func.count()).select_from(customers).where(
                customers.c.deleted_at.is_(None), customers.c.id.in_(grouped)))).scalar_one())

    before = {shape.name: shape for shape in SHAPES if shape.name in BEFORE_C0240}
    cases: list[tuple[str, Any]] = [
        ("(before c0240) count of every customer", lambda i: plain(i, True)),
        *((f"(before c0240) {name}", lambda i, s=shape: segment_before(s, i)) for name, shape in before.items()),
        ("(reference) count of every customer", lambda i: plain(i, False)),
        *((f"(before c0261) {shape.name}", lambda i, s=shape: segment_before_c0261(s, i))
          for shape in SHAPES if shape.name in BEFORE_C0261),
        ("(before c0200) spend >= 50,000 by aggregate", lambda i: aggregated(("CNY", 365), Decimal(50000), i)),
        ("(before c0200) orders 30d >= 1 by aggregate", lambda i: aggregated((None, 30), 1, i)),
    ]
    cases += [(shape.name, lambda i, s=shape: segment(s, i)) for shape in SHAPES]
    for name, run in cases:
        if (CASE_FILTER and not any(part in name for part in CASE_FILTER)) or any(part in name for part in CASE_SKIP):
            continue
        counts[name] = await run(0)  # warm the plan and the cache
        timing = timings.setdefault(name, Timing())
        spent = cpu.setdefault(name, Timing())
        for i in range(runs):
            server_before, own_before = postgres_cpu_ms(postmaster), time.process_time()
            started = time.perf_counter()
            await run(i)
            timing.samples.append((time.perf_counter() - started) * 1000)
            own = (time.process_time() - own_before) * 1000
            spent.samples.append(postgres_cpu_ms(postmaster) - server_before + own)
    return timings, cpu, counts


def report(title: str, customers: int, orders: int, timings: dict[str, Timing], cpu: dict[str, Timing],
           counts: dict[str, int], baseline: dict[str, Timing] | None) -> None:
    print(f"\n{title}: {customers:,} customers, {orders:,} orders")
    head = f"{'segment':52} {'count':>9} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>7}"
    print(head + (f" {'base p50':>9} {'base p95':>9}" if baseline else ""))
    for name, timing in timings.items():
        line = (f"{name:52} {counts[name]:9,} {statistics.median(timing.samples):8.1f} {timing.p(0.95):8.1f} "
                f"{statistics.mean(cpu[name].samples):7.0f}")
        if baseline:
            line += f" {statistics.median(baseline[name].samples):9.1f} {baseline[name].p(0.95):9.1f}"
        print(line)


@dataclass(frozen=True)
class Loaded:
    """One database of the cluster holding `customers` generated customers and their orders."""

    url: str
    sync_url: str
    tenant: uuid.UUID
    schema: str
    customers: int
    orders: int


def vacuum(sync_url: str, schema: str) -> None:
    """As autovacuum leaves a table after a bulk load (cheap when nothing changed since)."""
    with psycopg.connect(sync_url, autocommit=True) as conn:
        for table in ("customers", "customer_facts"):
            conn.execute(f'VACUUM ANALYZE "{schema}".{table}')


async def loaded(postgres: Any, data: Path, size: int) -> Loaded:
    """The database `segments_<size>`: loaded now, or by an earlier run with the same `--data`
    (its marker file names the tenant). An earlier database is migrated to head first (a new
    migration's backfill runs as it would in production) and vacuumed."""
    database = f"segments_{size}"
    marker = data / f"{database}.json"
    url = postgres.url(database)
    sync_url = url.replace("postgresql+psycopg", "postgresql")
    migrations_started = time.perf_counter()
    if marker.exists():
        saved = json.loads(marker.read_text())
        tenant = uuid.UUID(saved["tenant"])
        migrations.upgrade_control(url, DEFINITION.control_tree)
        schema = migrations.upgrade_tenant(url, DEFINITION.tenant_tree, tenant)
        vacuum(sync_url, schema)  # after a new migration's backfill, as autovacuum would
        print(f"{database}: reused from {data} ({saved['customers']:,} customers, {saved['orders']:,} orders; "
              f"migrated to head in {time.perf_counter() - migrations_started:.1f} s)", flush=True)
        return Loaded(url, sync_url, tenant, schema, saved["customers"], saved["orders"])
    with psycopg.connect(postgres.url("postgres").replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}"')  # a load stopped half-way
    postgres.create_database(database)
    made = await new_tenant(url)
    tenant, schema, world = made.tenant, made.schema, made.world
    engine = create_engine(url, pool_size=2)
    try:
        started = time.perf_counter()
        customers = orders = 0
        for start in range(0, size, 250_000):
            more, more_orders = load(sync_url, schema, start, min(250_000, size - start), world)
            customers, orders = customers + more, orders + more_orders
            print(f"{database}: loaded {customers:,} customers, {orders:,} orders "
                  f"({time.perf_counter() - started:.0f} s; load average {os.getloadavg()})", flush=True)
        await project_metrics(engine, tenant, sync_url, schema)
    finally:
        await engine.dispose()
    with psycopg.connect(sync_url, autocommit=True) as conn:
        # Compact, as the facts migrations' backfill leaves it: the load wrote each facts row two or
        # three times (the insert trigger inserts, then refreshes the metric columns; the metrics
        # rebuild rewrites the rows of customers with orders).
        conn.execute(f'VACUUM FULL "{schema}".customer_facts')
    vacuum(sync_url, schema)
    print(f"{database}: loaded, projected and vacuumed in {time.perf_counter() - started:.0f} s", flush=True)
    marker.write_text(json.dumps({"tenant": str(tenant), "customers": customers, "orders": orders}))
    return Loaded(url, sync_url, tenant, schema, customers, orders)


async def timed(db: Loaded, runs: int, postmaster: int) -> tuple[dict[str, Timing], dict[str, Timing], dict[str, int]]:
    """(wall ms, CPU ms of this process and its PostgreSQL backends, count) of each case."""
    engine = create_engine(db.url, pool_size=2)
    try:
        industries, regions = await load_dictionaries(engine, db.tenant)
        world = make_world(industries, regions)
        with psycopg.connect(db.sync_url, autocommit=True) as conn:
            conn.execute(f'DELETE FROM "{db.schema}".segments')  # an earlier run's
        ids = await save_segments(engine, db.tenant, world)
        return await time_counts(engine, db.tenant, world, ids, runs, postmaster)
    finally:
        await engine.dispose()


async def run(scale: int, baseline_rows: int, runs: int, data: Path | None) -> None:
    from crm_dev.infra import EmbeddedPostgres, free_port

    base = data or Path(tempfile.mkdtemp(prefix="bench-segments-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"data in {base}" + ("" if data else " (delete it when done; --data DIR keeps and reuses it)"))
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    assert postgres.process is not None
    postmaster = postgres.process.pid
    try:
        small = await loaded(postgres, base, baseline_rows)
        base_timings, base_cpu, base_counts = await timed(small, runs, postmaster)
        report("baseline", small.customers, small.orders, base_timings, base_cpu, base_counts, None)
        large = await loaded(postgres, base, scale)
        print(f"load average before timing: {os.getloadavg()}", flush=True)
        timings, cpu, counts = await timed(large, runs, postmaster)
        print(f"load average after timing: {os.getloadavg()}")
        report("target", large.customers, large.orders, timings, cpu, counts, base_timings)
        worst = max((t.p(0.95) for name, t in timings.items() if not name.startswith("(")), default=0.0)
        pairs = (("spend 12m >= 50,000", "(before c0200) spend >= 50,000 by aggregate"),
                 ("orders 30d >= 1", "(before c0200) orders 30d >= 1 by aggregate"))
        for projected_name, aggregate_name in pairs:
            if projected_name not in counts or aggregate_name not in counts:
                continue
            same = counts[projected_name] == counts[aggregate_name]
            print(f"{projected_name}: projection count {'equals' if same else 'DIFFERS FROM'} the aggregate's")
        print(f"\nworst segment p95 {worst:.1f} ms (target <= 200 ms at 1,000,000 customers)")
    finally:
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="customers at the target size")
    parser.add_argument("--baseline", type=int, default=10_000, help="customers at the baseline size")
    parser.add_argument("--runs", type=int, default=30, help="timed counts per segment and size")
    parser.add_argument("--data", type=Path, help="keep the generated databases here and reuse them in later runs "
                                                  "(e.g. /tmp/segcount-data)")
    parser.add_argument("--cases", nargs="*", default=[], help="only the cases whose names contain one of these")
    parser.add_argument("--skip", nargs="*", default=[], help="not the cases whose names contain one of these "
                                                              "(e.g. '(before c0240)': 15-25 s a count under load)")
    args = parser.parse_args()
    CASE_FILTER.extend(args.cases)
    CASE_SKIP.extend(args.skip)
    asyncio.run(run(args.scale, min(args.baseline, args.scale), args.runs, args.data))


if __name__ == "__main__":
    main()
