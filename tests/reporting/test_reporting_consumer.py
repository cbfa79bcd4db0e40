"""The `reporting` durable consumer end to end, in-process and as the real service process:
real NATS JetStream, the platform's Postgres inbox and real chDB, started on free ports
(crm_dev.infra)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_platform import events, migrations
from crm_platform.consumer import EventConsumer
from crm_platform.db import create_engine
from crm_platform.events import CloudEvent
from crm_platform.tables import inbox
from crm_reporting.analytics import TenantQuery
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.customers.service import customer_service
from crm_reporting.event_log.tables import EVENTS
from crm_reporting.main import ANALYTICS_TABLES as DEFINITION_TABLES
from crm_reporting.main import DEFINITION
from crm_reporting.projection import DURABLE_NAME, reporting_subscription
from tests.reporting.reporting_events import customer_event, tag_applied_event


@pytest.fixture(scope="module")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root = tmp_path_factory.mktemp("infra")
    postgres = EmbeddedPostgres(root / "pg", free_port(), root / "postgres.log")
    nats_server = NatsServer(root / "nats", free_port(), root / "nats.log")
    postgres.start()
    try:
        postgres.create_database("crm_reporting")
        nats_server.start()
        try:
            database_url = postgres.url("crm_reporting")
            migrations.upgrade_control(database_url, DEFINITION.control_tree)
            yield database_url, nats_server.url
        finally:
            nats_server.stop()
    finally:
        postgres.stop()


@pytest.fixture
def tenant(infra: tuple[str, str]) -> uuid.UUID:
    """A tenant provisioned in reporting's database, as identity's sign-up does."""
    tenant_id = uuid.uuid4()
    migrations.upgrade_tenant(infra[0], DEFINITION.tenant_tree, tenant_id)
    return tenant_id


@pytest.fixture
def other_tenant(infra: tuple[str, str]) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    migrations.upgrade_tenant(infra[0], DEFINITION.tenant_tree, tenant_id)
    return tenant_id


@pytest.fixture(scope="module")
async def engine(infra: tuple[str, str]) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(infra[0])
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def nc(infra: tuple[str, str]) -> AsyncIterator[NATS]:
    client = await events.connect(infra[1], "reporting-tests")
    await events.ensure_stream(client.jetstream())
    yield client
    await client.drain()


async def publish(nc: NATS, event: CloudEvent, aggregate: str, verb: str, msg_id: str | None = None) -> None:
    subject = events.subject_for(event.tenantid, aggregate, verb)
    await nc.jetstream().publish(subject, event.encode(), headers={"Nats-Msg-Id": msg_id or event.id})


async def inbox_count(engine: AsyncEngine, tenant: uuid.UUID) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(inbox).where(
            inbox.c.consumer == DURABLE_NAME, inbox.c.tenant_id == tenant
        )
        return int((await conn.execute(query)).scalar_one())


async def wait_for(predicate: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(30):
        while not await predicate():  # noqa: ASYNC110 - the state is in NATS and Postgres: poll it
            await asyncio.sleep(0.1)


async def test_events_are_projected_once_per_tenant(
    infra: tuple[str, str], engine: AsyncEngine, nc: NATS, chdb_analytics: ChdbAnalytics,
    tenant: uuid.UUID, other_tenant: uuid.UUID,
) -> None:
    retail, finance = uuid.uuid4(), uuid.uuid4()
    first = customer_event(tenant, retail, industry="retail")
    await publish(nc, first, "customer", "created")
    await publish(nc, customer_event(tenant, finance, industry="finance"), "customer", "created")
    await publish(nc, customer_event(tenant, retail, verb="updated", industry="energy", version=2),
                  "customer", "updated")
    await publish(nc, tag_applied_event(tenant, retail), "tag", "applied")
    await publish(nc, customer_event(other_tenant, uuid.uuid4(), industry="retail"), "customer", "created")
    # The same event again past the stream's duplicate window (a new message id): only the
    # inbox stands between it and a second projection.
    await publish(nc, first, "customer", "created", msg_id=str(uuid.uuid4()))

    # Its own connection, closed afterwards, as a stopped service's would be: a pull request
    # left open on a shared connection would hold messages meant for the next consumer.
    consumer_nc = await events.connect(infra[1], "reporting-consumer-test")
    consumer = EventConsumer(engine, consumer_nc, reporting_subscription(chdb_analytics))
    running = asyncio.create_task(consumer.run())
    try:
        async def all_applied() -> bool:
            if await inbox_count(engine, tenant) < 4 or await inbox_count(engine, other_tenant) < 1:
                return False
            info = await nc.jetstream().consumer_info(events.STREAM, DURABLE_NAME)
            return info.num_pending == 0 and info.num_ack_pending == 0

        await wait_for(all_applied)
    finally:
        consumer.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await consumer_nc.close()

    report = await customer_service.customers_by_industry(chdb_analytics, tenant)
    assert [(r.industry, r.customers) for r in report.rows] == [("energy", 1), ("finance", 1)]
    assert report.total == 2
    other = await customer_service.customers_by_industry(chdb_analytics, other_tenant)
    assert [(r.industry, r.customers) for r in other.rows] == [("retail", 1)]
    # Without FINAL every stored copy counts: four events, so the duplicate never reached chDB.
    stored = await chdb_analytics.query(TenantQuery(EVENTS, tenant).select("count() AS n"))
    assert stored == [{"n": 4}]


def test_the_tenant_migration_tree_provisions_a_schema(infra: tuple[str, str]) -> None:
    tenant = uuid.uuid4()
    schema = migrations.upgrade_tenant(infra[0], DEFINITION.tenant_tree, tenant)
    migrations.upgrade_tenant(infra[0], DEFINITION.tenant_tree, tenant)  # again: already at head

    sync = sa.create_engine(infra[0])
    try:
        with sync.connect() as conn:
            version = conn.execute(sa.text(f'SELECT version_num FROM "{schema}".alembic_version')).scalar_one()
    finally:
        sync.dispose()
    assert version == "r0190"


READ_REPORT = """
import asyncio, json, sys, uuid
from pathlib import Path
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.customers.service import customer_service

async def main(path, tenant):
    analytics = await ChdbAnalytics.open(Path(path))
    report = await customer_service.customers_by_industry(analytics, tenant)
    print(json.dumps({row.industry: row.customers for row in report.rows}))
    await analytics.close()

asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2])))
"""


def start_service(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with open(log_path, "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "crm_reporting"], env=env, stdout=log, stderr=log)


async def serving(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def test_the_service_process_consumes_into_its_chdb_store_and_stops_cleanly(
    infra: tuple[str, str], engine: AsyncEngine, nc: NATS, tmp_path: Path, tenant: uuid.UUID
) -> None:
    database_url, nats_url = infra
    port, chdb_path = free_port(), tmp_path / "chdb"
    env = {
        **os.environ,
        "CRM_REPORTING_DATABASE_URL": database_url,
        "CRM_REPORTING_NATS_URL": nats_url,
        "CRM_REPORTING_IDENTITY_ADDR": "127.0.0.1:9",  # only needed to verify tokens; none are sent
        "CRM_REPORTING_GRPC_PORT": str(port),
        "CRM_REPORTING_CHDB_PATH": str(chdb_path),
    }
    process = start_service(env, tmp_path / "reporting.log")
    try:
        async def healthy_or_exited() -> bool:
            return process.poll() is not None or await serving(port)

        await wait_for(healthy_or_exited)
        assert process.poll() is None, (tmp_path / "reporting.log").read_text()

        await publish(nc, customer_event(tenant, uuid.uuid4(), industry="retail"), "customer", "created")

        async def consumed() -> bool:
            return await inbox_count(engine, tenant) == 1

        await wait_for(consumed)
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(process.wait, 30)
    assert exit_code == 0, (tmp_path / "reporting.log").read_text()

    # Read the stopped service's store from a fresh process (chDB: one data path per process).
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", READ_REPORT, str(chdb_path), str(tenant)],
        capture_output=True, text=True, timeout=120, check=True,
    )
    assert json.loads(done.stdout) == {"retail": 1}


async def test_a_batch_with_an_erasure_keeps_nothing_about_the_customer(
    infra: tuple[str, str], engine: AsyncEngine, nc: NATS, chdb_analytics: ChdbAnalytics, tenant: uuid.UUID,
) -> None:
    """Creation, an order, the erasure and a late order of one customer reach the consumer in one
    fetch: the rows gathered before the erasure are flushed so its delete removes them, and the late
    order is not projected; another customer in the same batch is kept."""
    from crm_proto.crm.events.v1 import events_pb2
    from crm_reporting.orders.tables import ORDERS

    gone, kept = uuid.uuid4(), uuid.uuid4()

    def order_event(customer: uuid.UUID) -> CloudEvent:
        message = events_pb2.OrderRecorded(order_id=str(uuid.uuid4()), customer_id=str(customer), kind="order",
                                           amount="10.00", currency="CNY", ordered_on="2026-01-05", status="paid",
                                           version=1)
        return CloudEvent.new(source="customers", type=events.event_type("order", "recorded"), tenant_id=tenant,
                              data=events.proto_data(message))

    erased = CloudEvent.new(source="customers", type=events.event_type("customer", "erased"), tenant_id=tenant,
                            data={"customer_id": str(gone)}, subject=str(gone))
    published = [
        (customer_event(tenant, gone, industry="retail"), "customer", "created"),
        (customer_event(tenant, kept, industry="energy"), "customer", "created"),
        (order_event(gone), "order", "recorded"), (order_event(kept), "order", "recorded"),
        (erased, "customer", "erased"), (order_event(gone), "order", "recorded"),
    ]
    for event, aggregate, verb in published:
        await publish(nc, event, aggregate, verb)
    consumer_nc = await events.connect(infra[1], "reporting-batch-test")
    consumer = EventConsumer(engine, consumer_nc, reporting_subscription(chdb_analytics, DEFINITION_TABLES))
    running = asyncio.create_task(consumer.run())
    try:
        async def applied() -> bool:
            return await inbox_count(engine, tenant) >= len(published)

        await wait_for(applied)
    finally:
        consumer.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await consumer_nc.close()
    orders = await chdb_analytics.query(TenantQuery(ORDERS, tenant).select("toString(customer_id) AS c"))
    assert orders == [{"c": str(kept)}]
    report = await customer_service.customers_by_industry(chdb_analytics, tenant)
    assert [(r.industry, r.customers) for r in report.rows] == [("energy", 1)]
    logged = await chdb_analytics.query(TenantQuery(EVENTS, tenant).select("type").where(
        "position(data, {gone:String}) > 0", gone=str(gone)))
    assert logged == [{"type": "crm.customer.erased"}]
