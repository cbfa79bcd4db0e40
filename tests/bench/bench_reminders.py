"""Reminders benchmark (issue 12): N follow-up tasks over many tenants come due in the same minute
and are fired by the real `Scheduler` with the real followups handler (`Reminders.fire_due`: per
tenant group one statement reading the open tasks with their recipients and channels and inserting
the in-app notifications; per batch one INSERT of the `crm.followup_task.due` events into the
outbox and one of the next day's overdue schedules), in real followups tenant schemas (migrated by
Alembic). Users have no email here: this measures the in-app path; mail is rendered and queued to
the mail outbox at the end of the batch the same way and sent afterwards by the mail sender.

    nice -n 10 .venv/bin/python -m tests.bench.bench_reminders --tasks 100000 [--profile FILE]

Prints the scheduler's lag (notification row written - task due) p50/p95/p99/max, and when the last
notification became visible (committed) after the first task was due, next to the bare claim loop
of bench_scheduler.py on the same rows (the baseline, same run); the CPU seconds per 1,000
reminders of the scheduler's thread (the watcher polls from another) and of Postgres (the
postmaster's process tree), and the load average. Targets: each delivered in-app within 60 s of
its due time, lag p99 <= 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from crm_dev.infra import EmbeddedPostgres, free_port
from crm_followups.main import DEFINITION
from crm_followups.reminders.service import Reminders
from crm_followups.task.service import DUE_KIND
from crm_platform import migrations
from crm_platform.db import create_engine
from crm_platform.ids import new_id, tenant_schema
from crm_platform.scheduler import Scheduler
from tests.bench.bench_scheduler import percentile, report, run_baseline, wait_until

USERS_PER_TENANT = 20
TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds (user + system) of a process, its live descendants and its reaped children
    (Postgres: the postmaster, its backends, and those that have exited)."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        found = stats.get(pid)
        if found is None:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of /proc/<pid>/stat (here offset by the pid and name)
        total += sum(int(value) for value in found[11:15]) / TICKS
        stack += children.get(pid, [])
    return total


def load_average() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def setup_tenants(url: str, plain: str, tenants: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Migrated followups schemas; notifications stamped with the clock at insert (not the
    transaction's start) so lag counts the whole handler."""
    users: dict[uuid.UUID, list[uuid.UUID]] = {}
    migrations.upgrade_tenants(url, DEFINITION.tenant_tree, tenants)
    with psycopg.connect(plain, autocommit=True) as conn:
        for tenant in tenants:
            schema = tenant_schema(tenant)
            conn.execute(f'ALTER TABLE "{schema}".notifications ALTER created_at SET DEFAULT clock_timestamp()')
            conn.execute("INSERT INTO control.tenants (tenant_id, schema_name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (tenant, schema))
            users[tenant] = [new_id() for _ in range(USERS_PER_TENANT)]
            with conn.cursor() as cur:
                cur.executemany(f'INSERT INTO "{schema}".user_teams (user_id, version) VALUES (%s, 1)',
                                [(u,) for u in users[tenant]])
    return users


def load(plain: str, users: dict[uuid.UUID, list[uuid.UUID]], count: int, lead: float, spread: float) -> datetime:
    """`count` open tasks and their due schedules, due evenly over `spread` s from `lead` s from now."""
    tenants = list(users)
    with psycopg.connect(plain, autocommit=True) as conn:
        row = conn.execute("SELECT date_trunc('second', now()) + make_interval(secs => %s)", (lead,)).fetchone()
        assert row is not None
        due_at: datetime = row[0]
        rng = random.Random(11)
        per_tenant: dict[uuid.UUID, io.StringIO] = {t: io.StringIO() for t in tenants}
        schedules = io.StringIO()
        for index in range(count):
            tenant = tenants[rng.randrange(len(tenants))]
            task_id, customer_id = new_id(), new_id()
            at = (due_at + timedelta(seconds=spread * index / count)).isoformat()
            assignee = rng.choice(users[tenant])
            per_tenant[tenant].write(
                f"{task_id}\t{customer_id}\tCall back {index}\t{at}\topen\t{assignee}\t{assignee}\n")
            schedules.write(f'{new_id()}\t{tenant}\t{DUE_KIND}\ttask:{task_id}\t{{"task_id": "{task_id}", '
                            f'"phase": "due"}}\t{at}\t{at}\tUTC\tactive\t0\t0\n')
        for tenant, buffer in per_tenant.items():
            with conn.cursor() as cur, cur.copy(
                f'COPY "{tenant_schema(tenant)}".tasks (id, customer_id, title, due_at, status, assignee_id,'
                " created_by) FROM STDIN"
            ) as copy:
                copy.write(buffer.getvalue())
        with conn.cursor() as cur, cur.copy(
            "COPY control.schedules (id, tenant_id, kind, key, payload, due_at, occurrence_at, time_zone, status,"
            " attempts, fired_count) FROM STDIN"
        ) as copy:
            copy.write(schedules.getvalue())
        conn.execute("ANALYZE control.schedules")
        for tenant in tenants:
            conn.execute(f'ANALYZE "{tenant_schema(tenant)}".tasks')
    return due_at


def count_delivered(conn: psycopg.Connection[Any], tenants: list[uuid.UUID]) -> int:
    """Notifications committed so far, over every tenant, in one statement."""
    union = " UNION ALL ".join(f'SELECT count(*) AS n FROM "{tenant_schema(t)}".notifications' for t in tenants)
    row = conn.execute(f"SELECT sum(n) FROM ({union}) counted").fetchone()
    return int(row[0] or 0) if row else 0


def watch(plain: str, tenants: list[uuid.UUID], expected: int, timeout: float, result: dict[str, Any]) -> None:
    """In a thread of its own (its CPU is not the scheduler's): polls every 0.25 s until every
    notification is visible to another connection (committed) or the time is up."""
    started = time.perf_counter()
    with psycopg.connect(plain, autocommit=True) as conn:
        while time.perf_counter() - started < timeout:
            seen = count_delivered(conn, tenants)
            result["visible_at"] = datetime.now(UTC)
            if seen >= expected:
                return
            time.sleep(0.25)


async def run_reminders(url: str, tenants: list[uuid.UUID], due_at: datetime, args: argparse.Namespace,
                        postmaster_pid: int) -> dict[str, Any]:
    engine = create_engine(url, pool_size=args.concurrency + 4)
    plain = url.replace("postgresql+psycopg", "postgresql")
    handler = Reminders(None, "https://crm.example.cn").fire_due
    # The runtime's own settings (batch, concurrency, poll 0.5 s), as a followups replica runs it.
    worker = Scheduler(engine, {DUE_KIND: handler}, batch_size=args.batch, concurrency=args.concurrency)
    watched: dict[str, Any] = {"visible_at": datetime.now(UTC)}
    try:
        await wait_until(due_at)
        load_at_start = load_average()
        thread_cpu, pg_cpu = time.thread_time(), tree_cpu_seconds(postmaster_pid)
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        if profiler is not None:
            profiler.enable()
        task = asyncio.create_task(worker.run())
        await asyncio.to_thread(watch, plain, tenants, args.tasks, args.timeout, watched)
        worker.stop()
        await task
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        # The event loop's thread: the scheduler, its handler, SQLAlchemy and the driver (the watcher
        # runs in another thread).
        thread_cpu = time.thread_time() - thread_cpu
        pg_cpu = tree_cpu_seconds(postmaster_pid) - pg_cpu
        load_at_end = load_average()
        lags: list[float] = []
        async with engine.connect() as conn:
            for tenant in tenants:
                schema = tenant_schema(tenant)
                rows = (await conn.execute(sa.text(
                    f'SELECT extract(epoch FROM n.created_at - t.due_at) FROM "{schema}".notifications n'
                    f' JOIN "{schema}".tasks t ON t.id = n.task_id'))).all()
                lags += [float(r[0]) for r in rows]
            overdue = int((await conn.execute(sa.text(
                "SELECT count(*) FROM control.schedules WHERE kind = :k AND key LIKE 'task-overdue:%'"),
                {"k": DUE_KIND})).scalar_one())
            events = int((await conn.execute(sa.text("SELECT count(*) FROM control.outbox"))).scalar_one())
    finally:
        await engine.dispose()
    return {"fired": len(lags), "left": args.tasks - len(lags), "lags": lags, "overdue": overdue, "events": events,
            "all_fired_s": (watched["visible_at"] - due_at).total_seconds(), "python_cpu_s": thread_cpu,
            "postgres_cpu_s": pg_cpu, "load": f"{load_at_start} at the start, {load_at_end} at the end"}


async def main_async(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="crm-bench-reminders-"))
    postgres = EmbeddedPostgres(root / "pg", free_port(), root / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("bench")
        url = postgres.url("bench")
        plain = url.replace("postgresql+psycopg", "postgresql")
        migrations.upgrade_control(url, None)
        tenants = [new_id() for _ in range(args.tenants)]
        started = time.perf_counter()
        users = setup_tenants(url, plain, tenants)
        print(f"{args.tasks:,} tasks over {args.tenants} tenants ({USERS_PER_TENANT} users each), due evenly over "
              f"{args.spread:g} s; 1 scheduler x {args.concurrency} batches of {args.batch}; schemas migrated in "
              f"{time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        due_at = load(plain, users, args.tasks, args.lead, args.spread)
        print(f"  loaded in {time.perf_counter() - started:.1f} s")
        assert postgres.process is not None
        result = await run_reminders(url, tenants, due_at, args, postgres.process.pid)

        # The baseline: the same number of schedules claimed by the bare loop (bench_scheduler.py).
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("DELETE FROM control.schedules")
            conn.execute("VACUUM ANALYZE control.schedules")
        from tests.bench import bench_scheduler
        due_base = bench_scheduler.load(plain, tenants, args.tasks, args.lead, args.spread)
        baseline = await run_baseline(url, due_base, argparse.Namespace(batch=args.batch,
                                                                        concurrency=args.concurrency, replicas=1))
        print()
        report("reminders (real handler)", result)
        report("baseline (bare SKIP LOCKED)", baseline)
        lags = result["lags"]
        # "All delivered in-app within 60 s": each notification within 60 s of its task's due time (as
        # bench_scheduler.py), and all of them visible (committed) within 60 s after the last was due.
        after_last = result["all_fired_s"] - args.spread
        ok = (result["fired"] == args.tasks and bool(lags) and max(lags) <= 60 and after_last <= 60
              and percentile(lags, 99) <= 5)
        print(f"\nnotifications {result['fired']:,}, due events {result['events']:,}, overdue schedules "
              f"{result['overdue']:,}; all visible {result['all_fired_s']:.1f} s after the first was due "
              f"({after_last:.1f} s after the last)")
        per_1000 = 1000 / max(result["fired"], 1)
        print(f"CPU per 1,000 reminders: scheduler + handler (Python) {result['python_cpu_s'] * per_1000:.2f} s, "
              f"Postgres {result['postgres_cpu_s'] * per_1000:.2f} s ({result['python_cpu_s']:.1f} s and "
              f"{result['postgres_cpu_s']:.1f} s in all); load average (1/5/15 min) {result['load']}")
        print(f"targets (each delivered in-app within 60 s of its due time and all within 60 s of the last, "
              f"lag p99 <= 5 s): {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--batch", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds the due times spread over")
    parser.add_argument("--lead", type=float, default=15.0, help="seconds between loading and the first due time")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--profile", default="", help="write the scheduler run's cProfile stats to this file")
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
