"""The webhooks deployable as a real process (`python -m crm_webhooks`) against the tests'
PostgreSQL and a real NATS JetStream, plus what a test needs to feed it: a migrated tenant, the
service's own components (same secret key) and a way to publish events as other services do."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.infra import EmbeddedPostgres, NatsServer, free_port
from crm_platform import events, migrations
from crm_platform.db import create_engine
from crm_platform.ids import new_id
from crm_webhooks.main import DEFINITION, Components, Settings, build_components
from tests.webhooks.webhooks_testkit import wait_until


@dataclass
class RunningService:
    env: dict[str, str]
    database_url: str
    nats_url: str
    engine: AsyncEngine
    # Built from the service's own settings: what the test writes, the service can read.
    parts: Components

    async def new_tenant(self) -> uuid.UUID:
        """What identity's ProvisionTenant call does here: migrate a schema, record the tenant."""
        tenant_id = new_id()
        await asyncio.to_thread(migrations.upgrade_tenant, self.database_url, DEFINITION.tenant_tree, tenant_id)
        return tenant_id

    async def publish(self, *published: events.CloudEvent) -> None:
        """Publishes events on the stream as another service's outbox relay would."""
        nc = await events.connect(self.nats_url, "webhooks-test-publisher")
        try:
            js = nc.jetstream()
            await events.ensure_stream(js)
            for event in published:
                aggregate, verb = event.type.split(".")[1:3]
                await js.publish(events.subject_for(event.tenantid, aggregate, verb), event.encode(),
                                 headers={"Nats-Msg-Id": event.id})
        finally:
            await nc.close()


async def _serving(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@asynccontextmanager
async def webhooks_service(
    postgres: EmbeddedPostgres, nats_server: NatsServer, **settings: str
) -> AsyncIterator[RunningService]:
    """Starts the service on a fresh database; `settings`: more CRM_WEBHOOKS_* values (without the
    prefix, e.g. retry_schedule="0.5,1"). On exit it must stop cleanly and never have logged a secret."""
    database = f"crm_webhooks_e2e_{uuid.uuid4().hex[:8]}"
    postgres.create_database(database)
    env = {
        "CRM_WEBHOOKS_DATABASE_URL": postgres.url(database),
        "CRM_WEBHOOKS_NATS_URL": nats_server.url,
        "CRM_WEBHOOKS_IDENTITY_ADDR": "127.0.0.1:1",  # no RPC in these tests needs identity's JWKS
        "CRM_WEBHOOKS_GRPC_PORT": str(free_port()),
        "CRM_WEBHOOKS_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "CRM_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
        "CRM_WEBHOOKS_RETRY_SCHEDULE": "0.2,0.2",
        **{f"CRM_WEBHOOKS_{name.upper()}": value for name, value in settings.items()},
    }
    log_path = Path(tempfile.mkstemp(prefix="crm-webhooks-e2e-", suffix=".log")[1])
    process = start_service(env, log_path)
    parts = build_components(
        Settings.model_validate({k.removeprefix("CRM_WEBHOOKS_").lower(): v for k, v in env.items()})
    )
    engine = create_engine(env["CRM_WEBHOOKS_DATABASE_URL"])
    try:
        await wait_until(lambda: _serving(int(env["CRM_WEBHOOKS_GRPC_PORT"])), within=90)
        yield RunningService(env, env["CRM_WEBHOOKS_DATABASE_URL"], nats_server.url, engine, parts)
    finally:
        await engine.dispose()
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
