"""Scheduler benchmark (issue 12): N one-shot reminders over many tenants, due in the same minute
(spread evenly over it; `--spread 0` makes them all due at one instant), fired by the real
`crm_platform.scheduler.Scheduler` whose handler inserts one in-app notification row per firing in
the tenant's schema; then the same N rows claimed and deleted by a bare `SELECT ... FOR UPDATE SKIP
LOCKED` loop with no handler (the baseline, same batch size and concurrency, same run).

    .venv/bin/python tests/bench/bench_scheduler.py --schedules 100000

Prints throughput, lag (fired - due) p50/p95/p99/max, the time from the first due time until all
had fired, and this process's peak memory, for both. Targets: every reminder delivered within 60 s
of its due time, lag p99 <= 5 s. Lag comes from the database's clocks (the notification row's
insert time, the baseline's claim time).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_dev.infra import EmbeddedPostgres, free_port
from crm_platform import migrations
from crm_platform.db import TENANT, create_engine, new_metadata
from crm_platform.ids import new_id, tenant_schema
from crm_platform.scheduler import Firing, Scheduler

KIND = "bench.reminder"
metadata = new_metadata()
notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("schedule_key", sa.Text),
    sa.Column("occurrence_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)


def peak_mib() -> float:
    """This process's own high-water mark (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def setup_tenants(url: str, tenants: list[uuid.UUID]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for tenant in tenants:
            schema = tenant_schema(tenant)
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'CREATE TABLE "{schema}".notifications (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,'
                         " schedule_key text NOT NULL, occurrence_at timestamptz NOT NULL,"
                         " created_at timestamptz NOT NULL DEFAULT clock_timestamp())")
            conn.execute("INSERT INTO control.tenants (tenant_id, schema_name) VALUES (%s, %s)", (tenant, schema))


def load(url: str, tenants: list[uuid.UUID], count: int, lead: float, spread: float) -> datetime:
    """COPYs `count` one-shot schedules due evenly over `spread` seconds from `lead` seconds from now;
    returns the first due time."""
    with psycopg.connect(url, autocommit=True) as conn:
        due = conn.execute("SELECT date_trunc('second', now()) + make_interval(secs => %s)", (lead,)).fetchone()
        assert due is not None
        due_at: datetime = due[0]
        rng = random.Random(7)
        buffer = io.StringIO()
        for index in range(count):
            tenant = tenants[rng.randrange(len(tenants))]
            payload = f'{{"task_id": "{new_id()}"}}'
            at = (due_at + timedelta(seconds=spread * index / count)).isoformat()
            buffer.write(f"{new_id()}\t{tenant}\t{KIND}\treminder-{index}\t{payload}\t{at}\t{at}"
                         "\tUTC\tactive\t0\t0\n")
        with conn.cursor() as cur, cur.copy(
            "COPY control.schedules (id, tenant_id, kind, key, payload, due_at, occurrence_at, time_zone, status,"
            " attempts, fired_count) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        conn.execute("ANALYZE control.schedules")
    return due_at


async def notify(session: AsyncSession, firings: Sequence[Firing]) -> None:
    """The stand-in for an in-app notification: one row per firing in the tenant's schema (one
    executemany for the group)."""
    await session.execute(sa.insert(notifications), [
        {"schedule_key": f.key, "occurrence_at": f.occurrence_at} for f in firings])


async def wait_until(due_at: datetime) -> None:
    delay = (due_at - datetime.now(UTC)).total_seconds()
    if delay < 0:
        print(f"  (loading took longer than the lead: {-delay:.1f} s late at the start)")
    await asyncio.sleep(max(delay, 0))


async def remaining(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(
            "SELECT count(*) FROM control.schedules WHERE kind = :k AND status = 'active'"), {"k": KIND})).scalar_one())


async def run_scheduler(
    url: str, tenants: list[uuid.UUID], due_at: datetime, args: argparse.Namespace
) -> dict[str, Any]:
    engine = create_engine(url, pool_size=args.concurrency * args.replicas + 2)
    workers = [Scheduler(engine, {KIND: notify}, batch_size=args.batch, concurrency=args.concurrency,
                         poll_seconds=0.2) for _ in range(args.replicas)]
    try:
        await wait_until(due_at)
        started = time.perf_counter()
        tasks = [asyncio.create_task(w.run()) for w in workers]
        deadline = started + args.timeout
        while time.perf_counter() < deadline:
            if not await remaining(engine):
                break
            await asyncio.sleep(0.25)
        for worker in workers:
            worker.stop()
        await asyncio.gather(*tasks)
        left = await remaining(engine)
        lags: list[float] = []
        keys: set[str] = set()
        last = due_at
        async with engine.connect() as conn:
            for tenant in tenants:
                rows = (await conn.execute(sa.text(
                    "SELECT extract(epoch FROM created_at - occurrence_at), created_at, schedule_key"
                    f' FROM "{tenant_schema(tenant)}".notifications'))).all()
                lags += [float(r[0]) for r in rows]
                keys.update(r[2] for r in rows)
                last = max([last, *(r[1] for r in rows)])
    finally:
        await engine.dispose()
    return {"fired": len(lags), "distinct": len(keys), "left": left, "lags": lags,
            "all_fired_s": (last - due_at).total_seconds()}


async def run_baseline(url: str, due_at: datetime, args: argparse.Namespace) -> dict[str, Any]:
    """Bare claim loop: delete due rows with FOR UPDATE SKIP LOCKED in batches, no handler, no session."""
    lags: list[float] = []
    last = due_at
    sql = (
        "DELETE FROM control.schedules WHERE id IN (SELECT id FROM control.schedules"
        " WHERE status = 'active' AND due_at <= now() AND kind = %s ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        " RETURNING extract(epoch FROM clock_timestamp() - occurrence_at), clock_timestamp()"
    )

    async def loop() -> None:
        nonlocal last
        plain = url.replace("postgresql+psycopg", "postgresql")
        async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as conn:
            while True:
                async with conn.transaction():
                    rows = await (await conn.execute(sql, (KIND, args.batch))).fetchall()
                if rows:
                    lags.extend(float(r[0]) for r in rows)
                    last = max(last, rows[-1][1])
                    continue
                left = await (await conn.execute(
                    "SELECT count(*) FROM control.schedules WHERE kind = %s", (KIND,))).fetchone()
                if not left or not left[0]:
                    return
                await asyncio.sleep(0.2)

    await wait_until(due_at)
    await asyncio.gather(*(loop() for _ in range(args.concurrency * args.replicas)))
    return {"fired": len(lags), "left": 0, "lags": lags, "all_fired_s": (last - due_at).total_seconds()}


def report(name: str, result: dict[str, Any]) -> None:
    lags = result["lags"]
    if not lags:
        print(f"{name:<28} nothing fired")
        return
    span = max(result["all_fired_s"], 1e-6)
    print(f"{name:<28} {result['fired']:>8,} fired ({result['left']} left)  {result['fired'] / span:>8,.0f}/s  "
          f"lag p50 {percentile(lags, 50):6.2f} s  p95 {percentile(lags, 95):6.2f} s  "
          f"p99 {percentile(lags, 99):6.2f} s  max {max(lags):6.2f} s  all fired {result['all_fired_s']:6.2f} s "
          "after the first was due")


async def main_async(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="crm-bench-scheduler-"))
    postgres = EmbeddedPostgres(root / "pg", free_port(), root / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("bench")
        url = postgres.url("bench")
        plain = url.replace("postgresql+psycopg", "postgresql")
        migrations.upgrade_control(url, None)
        tenants = [new_id() for _ in range(args.tenants)]
        setup_tenants(plain, tenants)
        when = f"due evenly over {args.spread:g} s" if args.spread else "all due at one instant"
        print(f"{args.schedules:,} one-shot schedules over {args.tenants} tenants, {when}; "
              f"{args.replicas} scheduler(s) x {args.concurrency} batches of {args.batch}")

        started = time.perf_counter()
        due_at = load(plain, tenants, args.schedules, args.lead, args.spread)
        print(f"  loaded in {time.perf_counter() - started:.1f} s")
        scheduled = await run_scheduler(url, tenants, due_at, args)
        scheduler_peak = peak_mib()

        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE control.schedules")
        due_at = load(plain, tenants, args.schedules, args.lead, args.spread)
        baseline = await run_baseline(url, due_at, args)

        print()
        report("scheduler (handler inserts)", scheduled)
        report("baseline (bare SKIP LOCKED)", baseline)
        lags = scheduled["lags"]
        ok = (scheduled["left"] == 0 and scheduled["fired"] == args.schedules and bool(lags) and max(lags) <= 60
              and percentile(lags, 99) <= 5)
        ratio = scheduled["all_fired_s"] / max(baseline["all_fired_s"], 1e-6)
        print(f"\nscheduler / baseline time until all fired: {ratio:.2f}x; peak RSS of this process "
              f"{scheduler_peak:.0f} MiB (after the scheduler run), {peak_mib():.0f} MiB at the end")
        once = scheduled["fired"] == scheduled["distinct"] == args.schedules
        print(f"targets (each within 60 s of its due time, lag p99 <= 5 s): {'met' if ok else 'NOT met'}; "
              f"each reminder delivered exactly once: {'yes' if once else 'NO'}")
        ok = ok and once
        return 0 if ok else 1
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop our Postgres on the way out
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schedules", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--batch", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=2, help="batches in flight per scheduler")
    parser.add_argument("--replicas", type=int, default=1, help="Scheduler instances (as service replicas)")
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times spread over (0: one instant)")
    parser.add_argument("--lead", type=float, default=10.0, help="seconds between loading and the first due time")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
