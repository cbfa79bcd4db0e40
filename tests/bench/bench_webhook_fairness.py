"""Webhook fairness benchmark (issue 9): how long a quiet tenant's fresh event takes to reach its
receiver while N other tenants each have a backlog of failing deliveries, next to the same
measurement with no backlog, in one run.

    .venv/bin/python -m tests.bench.bench_webhook_fairness --tenants 20 --backlog 5000 --events 60

A fresh embedded PostgreSQL; the service's real fan-out, fair queue and dispatcher
(crm_webhooks.main.build_dispatcher) in this process; real HTTP receivers on 127.0.0.1: the busy
tenants' endpoints answer 503 after `--failing-delay` seconds (down and slow to say so), the quiet
tenant's answer 204 at once. Each busy tenant has one endpoint with `--backlog` deliveries due, far
more than the sender slots can take, so the slots stay full for the whole measurement. Latency is
from the commit that queued the quiet tenant's delivery (what the `webhooks` consumer does for an
event from NATS) to its arrival at the receiver; NATS itself is not in the path. "Waiting" is the
part until its attempt started (claim and read), the rest is the attempt itself. The receivers run
in this process too, so under CPU contention both phases slow down; compare the two rows.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import create_engine, tenant_session
from crm_platform.events import CloudEvent
from crm_webhooks.delivery.tables import deliveries, delivery_attempts
from crm_webhooks.main import Components, build_components, build_dispatcher
from tests.webhooks.backlog import insert_backlog
from tests.webhooks.conftest import make_settings
from tests.webhooks.webhooks_testkit import Receiver, ReceiverServer, wait_until


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


async def create_endpoint(engine: AsyncEngine, parts: Components, tenant_id: uuid.UUID, url: str) -> uuid.UUID:
    async with tenant_session(engine, tenant_id) as session:
        created = await parts.endpoint_service.create(session, tenant_id, url=url, event_types=[])
    return created.endpoint.id


@dataclass
class Latencies:
    """Per fresh event: queued -> arrived at the receiver, and the part spent waiting for a slot
    (queued -> its attempt started, from the delivery log), the rest being the attempt itself."""

    total: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)


async def fresh_event_latencies(
    engine: AsyncEngine, parts: Components, tenant_id: uuid.UUID, receiver: Receiver, events: int, interval: float
) -> Latencies:
    """Queues `events` deliveries for the quiet tenant, `interval` apart, and times them."""
    queued_at: dict[str, tuple[float, datetime]] = {}
    for index in range(events):
        event = CloudEvent.new(source="bench", type="crm.customer.created", tenant_id=tenant_id,
                               data={"customer": {"id": str(uuid.uuid4()), "n": index}})
        async with tenant_session(engine, tenant_id) as session:
            await parts.delivery_service.fan_out(session, event)
        queued_at[event.id] = (time.monotonic(), datetime.now(UTC))
        await asyncio.sleep(interval)
    await wait_until(lambda: _arrived(receiver, set(queued_at)), within=120)
    arrived = {r.headers["webhook-id"]: r.at for r in list(receiver.received)}
    started: dict[str, datetime] = {}

    async def logged() -> bool:  # the log row is written just after the receiver answered
        async with tenant_session(engine, tenant_id) as session:
            rows = await session.execute(
                sa.select(deliveries.c.event_id, sa.func.min(delivery_attempts.c.attempted_at))
                .join(delivery_attempts, delivery_attempts.c.delivery_id == deliveries.c.id)
                .where(deliveries.c.event_id.in_(list(queued_at))).group_by(deliveries.c.event_id)
            )
            started.update({row[0]: row[1] for row in rows})
        return set(queued_at) <= set(started)

    await wait_until(logged, within=60)
    result = Latencies()
    for event_id, (at, wall) in queued_at.items():
        result.total.append(arrived[event_id] - at)
        result.waiting.append(max(0.0, (started[event_id] - wall).total_seconds()))
    return result


async def _arrived(receiver: Receiver, ids: set[str]) -> bool:
    return ids <= {r.headers["webhook-id"] for r in list(receiver.received)}


async def _at_least(receiver: Receiver, count: int) -> bool:
    return len(receiver.received) >= count


async def run(args: argparse.Namespace, database_url: str) -> None:
    from crm_platform import migrations
    from crm_webhooks.main import DEFINITION

    settings = make_settings(
        database_url, delivery_concurrency=str(args.slots), endpoint_concurrency=str(args.endpoint_cap),
        tenant_concurrency=str(args.tenant_cap), retry_schedule="1,1,1,1,1,1,1,1,1",
    )
    parts = build_components(settings)
    engine = create_engine(database_url, pool_size=args.slots + 4)
    busy_receiver, quiet_receiver = Receiver(default_status=503, delay=args.failing_delay), Receiver()
    servers = [ReceiverServer(busy_receiver).start(), ReceiverServer(quiet_receiver).start()]
    try:
        quiet = uuid.uuid4()
        busy = [uuid.uuid4() for _ in range(args.tenants)]
        for tenant_id in [quiet, *busy]:
            await asyncio.to_thread(migrations.upgrade_tenant, database_url, DEFINITION.tenant_tree, tenant_id)
        await create_endpoint(engine, parts, quiet, quiet_receiver.url)
        busy_endpoints = [await create_endpoint(engine, parts, t, f"{busy_receiver.url}/{t}") for t in busy]

        dispatcher = build_dispatcher(engine, parts)
        task = asyncio.create_task(dispatcher.run())
        results: dict[str, tuple[Latencies, float]] = {}
        try:
            started = time.perf_counter()
            results["no backlog"] = (
                await fresh_event_latencies(engine, parts, quiet, quiet_receiver, args.events, args.interval),
                0.0,
            )
            print(f"no backlog: {args.events} events in {time.perf_counter() - started:.1f} s", flush=True)

            started = time.perf_counter()
            for tenant_id, endpoint_id in zip(busy, busy_endpoints, strict=True):
                await insert_backlog(engine, tenant_id, endpoint_id, args.backlog)
            print(f"backlog: {args.tenants} tenants x {args.backlog:,} failing deliveries queued in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            await wait_until(lambda: _at_least(busy_receiver, 2 * args.slots), within=120)  # slots full
            before = len(busy_receiver.received)
            started = time.perf_counter()
            latencies = await fresh_event_latencies(engine, parts, quiet, quiet_receiver, args.events, args.interval)
            elapsed = time.perf_counter() - started
            results[f"{args.tenants} tenants x {args.backlog:,} backlog"] = (
                latencies, (len(busy_receiver.received) - before) / elapsed)
            print(f"with backlog: {args.events} events in {elapsed:.1f} s; busy receivers peaked at "
                  f"{busy_receiver.max_in_flight} requests at once", flush=True)
        finally:
            dispatcher.stop()
            await asyncio.wait_for(task, 30)

        print()
        print(f"slots {args.slots}, endpoint cap {args.endpoint_cap}, tenant cap {args.tenant_cap}, "
              f"failing receiver answers after {args.failing_delay:g} s")
        print(f"the quiet tenant sends {1 / args.interval:g} events/s; while the busy tenants share the slots, "
              "its turn comes like theirs when it uses more than a busy tenant gets (last column)")
        print("| run | fresh events | p50 | p95 | p99 | max | of which waiting for a slot: p50 / p95 "
              "| busy attempts/s | per busy tenant |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for label, (latencies, busy_rate) in results.items():
            ms = [v * 1000 for v in latencies.total]
            wait = [v * 1000 for v in latencies.waiting]
            print(f"| {label} | {len(ms)} | {statistics.median(ms):.0f} ms | {percentile(ms, 0.95):.0f} ms | "
                  f"{percentile(ms, 0.99):.0f} ms | {max(ms):.0f} ms | {statistics.median(wait):.0f} ms / "
                  f"{percentile(wait, 0.95):.0f} ms | {busy_rate:.0f} | {busy_rate / args.tenants:.1f} |")
        sys.stdout.flush()
    finally:
        for server in servers:
            server.stop()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20, help="busy tenants, each with a backlog")
    parser.add_argument("--backlog", type=int, default=5000, help="queued failing deliveries per busy tenant")
    parser.add_argument("--events", type=int, default=60, help="fresh events of the quiet tenant per run")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between fresh events (the quiet tenant stays well below one endpoint's share)")
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--endpoint-cap", type=int, default=4)
    parser.add_argument("--tenant-cap", type=int, default=8)
    parser.add_argument("--failing-delay", type=float, default=0.2)
    args = parser.parse_args()

    from crm_dev.infra import EmbeddedPostgres, free_port
    from crm_platform import migrations
    from crm_webhooks.main import DEFINITION

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops Postgres
    base = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("crm_webhooks")
        url = postgres.url("crm_webhooks")
        migrations.upgrade_control(url, DEFINITION.control_tree)
        asyncio.run(run(args, url))
    finally:
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
