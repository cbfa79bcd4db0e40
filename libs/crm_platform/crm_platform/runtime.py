"""Wires one service process: migrations, database, gRPC server with health, the tenancy
servicer, the outbox relay, event consumers and job workers; stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import events, migrations, telemetry
from crm_platform.auth import JwksCache, Scope, TokenVerifier, current_principal
from crm_platform.config import ServiceSettings
from crm_platform.consumer import EventConsumer, Subscription
from crm_platform.db import control_session, create_engine
from crm_platform.errors import PermissionDenied
from crm_platform.grpc_client import DEFAULT_DEADLINE, channel
from crm_platform.grpc_server import EdgeInterceptor, add_health, create_server, set_serving
from crm_platform.ids import parse_uuid, tenant_schema
from crm_platform.jobs import JobWorker
from crm_platform.outbox import OutboxRelay
from crm_platform.tables import tenants
from crm_proto.crm.identity.v1 import identity_pb2, identity_pb2_grpc
from crm_proto.crm.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

log = logging.getLogger(__name__)


class Background(Protocol):
    async def run(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class ServiceDefinition:
    """What a service contributes; the runtime supplies everything else."""

    name: str
    package_dir: Path
    register: Callable[[grpc.aio.Server, ServiceRuntime], Iterable[str]]
    subscriptions: Callable[[ServiceRuntime], list[Subscription]] = lambda rt: []
    workers: Callable[[ServiceRuntime], list[JobWorker]] = lambda rt: []
    public_methods: frozenset[str] = frozenset()
    jwks_fetcher: Callable[[ServiceRuntime], Callable[[], Awaitable[dict[str, Any]]]] | None = None
    on_start: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    on_stop: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def control_tree(self) -> Path | None:
        tree = self.package_dir / "migrations" / "control"
        return tree if tree.exists() else None

    @property
    def tenant_tree(self) -> Path:
        return self.package_dir / "migrations" / "tenant"


class TenancyServicer(tenancy_pb2_grpc.TenancyServiceServicer):
    """Provisions a tenant's schema in this service's database (identity calls it at sign-up)."""

    def __init__(self, runtime: ServiceRuntime):
        self.runtime = runtime

    async def ProvisionTenant(
        self, request: tenancy_pb2.ProvisionTenantRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ProvisionTenantResponse:
        caller = current_principal.get()
        if caller is None or Scope.SYSTEM_PROVISION.value not in caller.scopes:
            raise PermissionDenied("provisioning needs a service token")
        tenant_id = parse_uuid(request.tenant_id, "tenant")
        schema = await self.runtime.provision(tenant_id)
        return tenancy_pb2.ProvisionTenantResponse(tenant_id=str(tenant_id), schema=schema)


class ServiceRuntime:
    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings):
        self.definition = definition
        self.settings = settings
        self.engine: AsyncEngine = create_engine(settings.database_url, settings.db_pool_size)
        self.nc: NATS | None = None
        self.nats_ready = asyncio.Event()
        self._background: list[Background] = []
        self._tasks: list[asyncio.Task[None]] = []

    # -- tenants ---------------------------------------------------------------------------
    async def provision(self, tenant_id: uuid.UUID) -> str:
        return await asyncio.to_thread(
            migrations.upgrade_tenant, self.settings.database_url, self.definition.tenant_tree, tenant_id
        )

    async def known_tenants(self) -> list[uuid.UUID]:
        async with control_session(self.engine) as session:
            return list((await session.execute(sa.select(tenants.c.tenant_id))).scalars())

    # -- auth ------------------------------------------------------------------------------
    def _identity_jwks_fetcher(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        stub = identity_pb2_grpc.IdentityServiceStub(channel(self.settings.identity_addr))

        async def fetch() -> dict[str, Any]:
            reply = await stub.GetJwks(identity_pb2.GetJwksRequest(), timeout=DEFAULT_DEADLINE)
            keys: dict[str, Any] = json.loads(reply.jwks_json)
            return keys

        return fetch

    # -- lifecycle -------------------------------------------------------------------------
    async def _connect_nats(self) -> None:
        """Connects in the background: a service serves requests (and fills its outbox) while
        NATS is unreachable, and starts relaying once it is back."""
        while True:
            try:
                self.nc = await events.connect(self.settings.nats_url, self.definition.name)
                break
            except Exception as exc:
                log.warning("NATS not reachable yet", extra=telemetry.log_fields(error=repr(exc)))
                await asyncio.sleep(1)
        await events.ensure_stream(self.nc.jetstream())
        self._start(OutboxRelay(self.engine, self.nc))
        for sub in self.definition.subscriptions(self):
            self._start(EventConsumer(self.engine, self.nc, sub))
        self.nats_ready.set()

    def _start(self, component: Background) -> None:
        self._background.append(component)
        self._tasks.append(asyncio.create_task(component.run(), name=type(component).__name__))

    async def run(self) -> None:
        settings = self.settings
        telemetry.setup(self.definition.name, settings.log_level)
        await asyncio.to_thread(migrations.upgrade_control, settings.database_url, self.definition.control_tree)
        await asyncio.to_thread(
            migrations.upgrade_tenants, settings.database_url, self.definition.tenant_tree, await self.known_tenants()
        )
        fetcher = (self.definition.jwks_fetcher or ServiceRuntime._identity_jwks_fetcher)(self)
        verifier = TokenVerifier(JwksCache(fetcher), settings.token_issuer, settings.token_audience)
        interceptor = EdgeInterceptor(verifier, self.definition.public_methods)
        server, port = create_server(interceptor, settings.grpc_host, settings.grpc_port)
        service_names = list(self.definition.register(server, self))
        tenancy_pb2_grpc.add_TenancyServiceServicer_to_server(TenancyServicer(self), server)
        health = add_health(server, service_names)
        if self.definition.on_start:
            await self.definition.on_start(self)
        await server.start()
        await set_serving(health, service_names, True)
        log.info("serving", extra=telemetry.log_fields(port=port, service=self.definition.name))
        self._tasks.append(asyncio.create_task(self._connect_nats(), name="nats"))
        for worker in self.definition.workers(self):
            self._start(worker)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")
        await set_serving(health, service_names, False)
        await server.stop(settings.shutdown_grace)
        for component in self._background:
            component.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.nc is not None and self.nc.is_connected:
            try:
                # Pull subscriptions can keep drain waiting on server round trips; flushing what
                # was published is all that matters here (unacked messages are redelivered).
                await asyncio.wait_for(self.nc.drain(), timeout=2)
            except TimeoutError:
                await self.nc.close()
        if self.definition.on_stop:
            await self.definition.on_stop(self)
        await self.engine.dispose()


def serve(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    """Entry point body of every service's `python -m crm_<name>`."""
    asyncio.run(ServiceRuntime(definition, settings).run())


__all__ = ["ServiceDefinition", "ServiceRuntime", "serve", "tenant_schema"]
