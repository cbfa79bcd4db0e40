"""Wires one service process: migrations, database, gRPC server with health, the tenancy
servicer, the outbox relay, event consumers, job workers, the scheduler and the mail sender; stops
cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import grpc
import sqlalchemy as sa
import uvloop
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import events, migrations, offboarding, telemetry
from crm_platform.auth import JwksCache, Scope, TokenVerifier, current_principal
from crm_platform.config import ServiceSettings
from crm_platform.consumer import EventConsumer, Subscription
from crm_platform.db import control_session, create_engine
from crm_platform.errors import FieldError, InvalidInput, PermissionDenied, PreconditionFailed
from crm_platform.grpc_client import DEFAULT_DEADLINE, channel
from crm_platform.grpc_server import EdgeInterceptor, add_health, create_server, set_serving
from crm_platform.ids import parse_uuid, tenant_schema
from crm_platform.mail import Mailer, MailSender, transport_from_settings
from crm_platform.outbox import OutboxRelay
from crm_platform.scheduler import ScheduleHandler, Scheduler
from crm_platform.suspension import TenantGate
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
    # Job workers, or any other background loop (the webhooks service's dispatcher).
    workers: Callable[[ServiceRuntime], Sequence[Background]] = lambda rt: []
    # Handlers per schedule kind (crm_platform/scheduler.py); the runtime runs one Scheduler for them.
    schedules: Callable[[ServiceRuntime], dict[str, ScheduleHandler]] = lambda rt: {}
    # The service queues mail (`runtime.mailer`); the runtime sends its mail outbox over SMTP.
    sends_mail: bool = False
    public_methods: frozenset[str] = frozenset()
    jwks_fetcher: Callable[[ServiceRuntime], Callable[[], Awaitable[dict[str, Any]]]] | None = None
    on_start: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    on_stop: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    # Tenant data kept outside the service's Postgres schema, for export and erase (offboarding).
    tenant_data: Callable[[ServiceRuntime], offboarding.TenantDataHook] | None = None

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

    # -- offboarding (crm_platform/offboarding.py) ----------------------------------------------
    @staticmethod
    def _operator_target(tenant_id: str) -> uuid.UUID:
        """Operator token (`system:tenants`) of exactly the tenant named in the request."""
        caller = current_principal.get()
        if caller is None or Scope.SYSTEM_TENANTS.value not in caller.scopes:
            raise PermissionDenied("offboarding needs an operator token")
        target = parse_uuid(tenant_id, "tenant")
        if target != caller.tenant_id:
            raise PermissionDenied("the operator token is for another tenant")
        return target

    async def ListTenantData(
        self, request: tenancy_pb2.ListTenantDataRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ListTenantDataResponse:
        tenant_id = self._operator_target(request.tenant_id)
        tables = await offboarding.schema_tables(self.runtime.engine, tenant_id)
        hook = self.runtime.tenant_data
        if hook is not None:
            tables += await hook.tables(tenant_id)
        return tenancy_pb2.ListTenantDataResponse(
            tables=[tenancy_pb2.TenantDataTable(name=name, rows=rows) for name, rows in tables],
            service=self.runtime.definition.name,
        )

    async def ExportTenant(
        self, request: tenancy_pb2.ExportTenantRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ExportTenantResponse:
        tenant_id = self._operator_target(request.tenant_id)
        limit = offboarding.page_size(request.page_size)
        if request.offset < 0:
            raise InvalidInput([FieldError("offset", "out_of_range", "offset must not be negative")])
        hook = self.runtime.tenant_data
        if hook is not None and request.table.startswith(hook.prefixes):
            rows = await hook.export(tenant_id, request.table, request.offset, limit)
        else:
            rows = await offboarding.export_page(self.runtime.engine, tenant_id, request.table, request.offset, limit)
        return tenancy_pb2.ExportTenantResponse(
            rows=rows, next_offset=request.offset + len(rows), done=len(rows) < limit
        )

    async def ImportTenant(
        self, request: tenancy_pb2.ImportTenantRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.ImportTenantResponse:
        """Restore (docs/tenancy.md#restore-into-a-new-tenant): one page of a backup's table into
        the new tenant, which is still `provisioning` (nobody uses it until the restore ends)."""
        tenant_id = self._operator_target(request.tenant_id)
        source_id = parse_uuid(request.source_tenant_id, "source_tenant_id")
        try:
            rows = [json.loads(line) for line in request.rows]
        except ValueError:
            raise InvalidInput([FieldError("rows", "invalid_rows", "each row must be a JSON object")]) from None
        if not all(isinstance(row, dict) for row in rows):
            raise InvalidInput([FieldError("rows", "invalid_rows", "each row must be a JSON object")])
        hook = self.runtime.tenant_data
        if hook is not None and request.table.startswith(hook.prefixes):
            inserted = await hook.import_external(tenant_id, source_id, request.table, rows)
        else:
            if hook is not None:
                rows = await hook.prepare_import(tenant_id, source_id, request.table, rows)
            inserted = await offboarding.import_page(self.runtime.engine, tenant_id, request.table, rows,
                                                     replace=request.replace)
        return tenancy_pb2.ImportTenantResponse(inserted=inserted)

    async def EraseTenant(
        self, request: tenancy_pb2.EraseTenantRequest, context: grpc.aio.ServicerContext
    ) -> tenancy_pb2.EraseTenantResponse:
        tenant_id = self._operator_target(request.tenant_id)
        service = self.runtime.definition.name
        gate = self.runtime.tenant_gate
        if gate.refusal(tenant_id) is None:
            # Erasing a tenant that still works would pull data from under its users.
            await gate.refresh()
            if gate.refusal(tenant_id) is None:
                raise PreconditionFailed("suspend the tenant before erasing it", code="tenant_not_suspended")
        hook = self.runtime.tenant_data
        deleted: dict[str, int] = {}
        if hook is not None:
            deleted |= await hook.erase(tenant_id)
        schema_deleted, dropped = await offboarding.erase_postgres(self.runtime.engine, tenant_id)
        deleted |= schema_deleted
        self.runtime.tenant_gate.mark_erased(tenant_id)
        offboarding.audit("erased", service, tenant_id, deleted=deleted, schema_dropped=dropped)
        return tenancy_pb2.EraseTenantResponse(deleted=deleted, schema_dropped=dropped)


class ServiceRuntime:
    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings):
        self.definition = definition
        self.settings = settings
        self.engine: AsyncEngine = create_engine(settings.database_url, settings.db_pool_size)
        self.nc: NATS | None = None
        self.nats_ready = asyncio.Event()
        self.tenant_gate = TenantGate(self.engine)
        self._tenant_data: offboarding.TenantDataHook | None = None
        self._tenant_data_built = False
        self._background: list[Background] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._mailer: Mailer | None = None

    # -- mail ------------------------------------------------------------------------------
    @property
    def mailer(self) -> Mailer:
        """Queues mail in the caller's transaction (crm_platform/mail.py)."""
        if not self.definition.sends_mail:
            raise RuntimeError(f"{self.definition.name} does not declare sends_mail=True in its ServiceDefinition")
        if self._mailer is None:
            self._mailer = Mailer(self.settings.mail_from, self.settings.mail_from_name)
        return self._mailer

    def _start_mail_sender(self) -> None:
        transport = transport_from_settings(self.settings)
        if transport is None:
            variable = f"CRM_{self.definition.name.upper()}_SMTP_HOST"
            log.warning(f"mail is queued but not sent until {variable} is set",
                        extra=telemetry.log_fields(setting=variable))
            return
        self._start(MailSender(self.engine, transport))

    # -- tenants ---------------------------------------------------------------------------
    async def provision(self, tenant_id: uuid.UUID) -> str:
        return await asyncio.to_thread(
            migrations.upgrade_tenant, self.settings.database_url, self.definition.tenant_tree, tenant_id
        )

    @property
    def tenant_data(self) -> offboarding.TenantDataHook | None:
        if not self._tenant_data_built:
            factory = self.definition.tenant_data
            self._tenant_data = factory(self) if factory is not None else None
            self._tenant_data_built = True
        return self._tenant_data

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
        # Built in for every service: identity's tenant.suspended / .resumed events.
        for sub in [self.tenant_gate.subscription(self.definition.name), *self.definition.subscriptions(self)]:
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
        await self.tenant_gate.refresh()
        self._start(self.tenant_gate)
        interceptor = EdgeInterceptor(verifier, self.definition.public_methods, self.tenant_gate)
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
        handlers = self.definition.schedules(self)
        if handlers:
            self._start(Scheduler(self.engine, handlers))
        if self.definition.sends_mail:
            self._start_mail_sender()

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


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Runs a service process's main coroutine on uvloop (libuv; the gateway's uvicorn uses it too),
    whose callbacks and socket I/O cost a fraction of the stock loop's: every RPC is several of each.
    tests/bench/hop.py runs its servicer the same way."""
    uvloop.run(main)


def serve(definition: ServiceDefinition, settings: ServiceSettings) -> None:
    """Entry point body of every service's `python -m crm_<name>`."""
    run_loop(ServiceRuntime(definition, settings).run())


__all__ = ["ServiceDefinition", "ServiceRuntime", "serve", "tenant_schema"]
