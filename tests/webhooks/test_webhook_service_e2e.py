"""The deployable end to end: `python -m crm_webhooks` against real PostgreSQL and NATS
JetStream, an event published on the stream, and a signed POST at a real receiver."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from standardwebhooks.webhooks import Webhook

from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_platform import events, migrations
from crm_platform.db import control_session, create_engine, tenant_session
from crm_platform.ids import new_id
from crm_platform.tables import inbox
from crm_webhooks.delivery.repository import Delivery
from crm_webhooks.main import DEFINITION, Settings, build_components
from tests.webhooks.webhooks_testkit import Receiver, wait_until

TENANT_TREE = DEFINITION.tenant_tree


@pytest.fixture(scope="module")
def nats_server() -> Iterator[NatsServer]:
    root = Path(tempfile.mkdtemp(prefix="crm-webhooks-nats-"))
    server = NatsServer(root / "store", free_port(), root / "nats.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def _serving(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture
async def service_env(postgres: EmbeddedPostgres, nats_server: NatsServer) -> AsyncIterator[dict[str, str]]:
    database = f"crm_webhooks_e2e_{uuid.uuid4().hex[:8]}"
    postgres.create_database(database)
    env = {
        "CRM_WEBHOOKS_DATABASE_URL": postgres.url(database),
        "CRM_WEBHOOKS_NATS_URL": nats_server.url,
        "CRM_WEBHOOKS_IDENTITY_ADDR": "127.0.0.1:1",  # no RPC in this test needs identity's JWKS
        "CRM_WEBHOOKS_GRPC_PORT": str(free_port()),
        "CRM_WEBHOOKS_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CRM_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "CRM_WEBHOOKS_RETRY_SCHEDULE": "0.2,0.2",
    }
    log_path = Path(tempfile.mkstemp(prefix="crm-webhooks-e2e-", suffix=".log")[1])
    process = start_service(env, log_path)
    try:
        await wait_until(lambda: _serving(int(env["CRM_WEBHOOKS_GRPC_PORT"])), within=60)
        yield env
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(process.wait, 30)
        output = await asyncio.to_thread(read_and_remove, log_path)
        assert returncode == 0, output.decode(errors="replace")[-4000:]
        assert b"whsec_" not in output  # secrets never reach a log


def start_service(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:  # a file, not a pipe: a full pipe would block the service
        return subprocess.Popen(
            [sys.executable, "-m", "crm_webhooks"], env={**os.environ, **env}, stdout=log, stderr=log
        )


def read_and_remove(path: Path) -> bytes:
    content = path.read_bytes()
    path.unlink()
    return content


async def test_published_event_is_delivered_once_and_signed(
    service_env: dict[str, str], nats_server: NatsServer, receiver: Receiver
) -> None:
    database_url = service_env["CRM_WEBHOOKS_DATABASE_URL"]
    # The test's own components, with the service's settings (same secret key).
    parts = build_components(
        Settings.model_validate({k.removeprefix("CRM_WEBHOOKS_").lower(): v for k, v in service_env.items()})
    )
    engine = create_engine(database_url)
    tenant_id = new_id()
    try:
        # What identity's ProvisionTenant call does in this service (it needs a service token):
        # migrate the tenant schema and record the tenant in control.tenants.
        await asyncio.to_thread(migrations.upgrade_tenant, database_url, TENANT_TREE, tenant_id)
        async with tenant_session(engine, tenant_id) as session:
            created = await parts.endpoint_service.create(
                session, tenant_id, url=receiver.url, event_types=["crm.customer.created"]
            )

        event = events.CloudEvent.new(
            source="crm/customers", type="crm.customer.created", tenant_id=tenant_id,
            data={"customer": {"id": str(new_id()), "name": "李四"}},
        )
        ignored = events.CloudEvent.new(source="crm/tagging", type="crm.tag.applied", tenant_id=tenant_id, data={})
        nc = await events.connect(nats_server.url, "webhooks-e2e-test")
        js = nc.jetstream()
        await events.ensure_stream(js)
        await js.publish(events.subject_for(tenant_id, "tag", "applied"), ignored.encode())
        await js.publish(events.subject_for(tenant_id, "customer", "created"), event.encode())
        # The same event again, as a redelivery would bring it (other msg id, so the stream keeps it).
        await js.publish(events.subject_for(tenant_id, "customer", "created"), event.encode(),
                         headers={"Nats-Msg-Id": f"again-{event.id}"})
        await nc.close()

        async def both_consumed() -> bool:
            async with control_session(engine) as session:
                rows = await session.execute(sa.select(inbox.c.event_id).where(inbox.c.consumer == "webhooks"))
                return {ignored.id, event.id} <= set(rows.scalars())

        async def succeeded() -> bool:
            async with tenant_session(engine, tenant_id) as session:
                page = await parts.delivery_service.list_page(session, endpoint_id="", page_size=0, page_token="")
            return [d.status for d in page.items] == ["succeeded"]

        await wait_until(both_consumed, within=30)
        await wait_until(succeeded, within=30)
        await asyncio.sleep(1.0)  # time for a wrong second delivery to show up

        assert len(receiver.received) == 1
        [request] = receiver.received
        assert Webhook(created.secret).verify(request.body, request.headers) == event.to_json()
        assert request.headers["webhook-id"] == event.id
        async with tenant_session(engine, tenant_id) as session:
            page = await parts.delivery_service.list_page(session, endpoint_id="", page_size=0, page_token="")
        delivery: Delivery = page.items[0]
        assert (delivery.event_type, delivery.attempts, delivery.last_status_code) == ("crm.customer.created", 1, 204)
    finally:
        await engine.dispose()
