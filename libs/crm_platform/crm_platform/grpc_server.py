"""The gRPC edge: one interceptor (trace context, token verification, error mapping) and one
decorator declaring what each RPC needs and owning its transaction."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from opentelemetry import context as otel_context
from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import telemetry
from crm_platform.auth import Principal, Scope, TokenVerifier, current_principal
from crm_platform.db import tenant_read_session, tenant_session
from crm_platform.errors import ERROR_METADATA_KEY, DomainError, Unauthenticated, encode_detail
from crm_platform.origin import origin_from_metadata, set_origin
from crm_platform.text import require_clean_message

log = logging.getLogger(__name__)

HEALTH_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})


class TenantGate(Protocol):
    def refusal(self, tenant_id: uuid.UUID) -> str | None: ...


class EdgeInterceptor(grpc.aio.ServerInterceptor):
    """For every unary call: continue the caller's trace, verify the bearer token into the
    principal (except for the listed public methods), check every string of the request against
    the text rule (crm_platform.text; services are reachable over gRPC, so none trusts the
    gateway to have done it), and map domain errors to status codes with a JSON detail in
    trailing metadata. No handler sets a status code itself."""

    def __init__(
        self, verifier: TokenVerifier, public_methods: Iterable[str] = (), tenant_gate: TenantGate | None = None
    ):
        self.verifier = verifier
        self.tenant_gate = tenant_gate
        self.public_methods = frozenset(public_methods) | HEALTH_METHODS
        self.tracer = telemetry.tracer("crm_platform.grpc")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        method: str = details.method
        inner: Any = handler.unary_unary
        public = method in self.public_methods

        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
            set_origin(origin_from_metadata(metadata))  # where the request came from, for audit writers
            token = otel_context.attach(telemetry.extract(metadata))
            try:
                with self.tracer.start_as_current_span(method, kind=trace.SpanKind.SERVER):
                    try:
                        if not public:
                            caller = await self._authenticate(metadata)
                            current_principal.set(caller)
                            telemetry.tenant_var.set(str(caller.tenant_id))
                            telemetry.user_var.set(caller.actor)
                        require_clean_message(request)
                        return await inner(request, context)
                    except DomainError as exc:
                        await context.abort(
                            exc.status, exc.message, trailing_metadata=((ERROR_METADATA_KEY, encode_detail(exc)),)
                        )
                    except Exception:
                        log.exception("unhandled error in %s", method)
                        await context.abort(
                            grpc.StatusCode.INTERNAL,
                            "internal error",
                            trailing_metadata=((ERROR_METADATA_KEY, '{"code":"internal","message":"internal error"}'),),
                        )
            finally:
                otel_context.detach(token)

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    async def _authenticate(self, metadata: dict[str, str]) -> Principal:
        header = metadata.get("authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw:
            raise Unauthenticated("missing bearer token")
        caller = await self.verifier.verify(raw.strip())
        # A suspended (or offboarded) tenant's tokens stop working at once (crm_platform/suspension.py);
        # operator and service tokens still act on it (resume, export, erase).
        refusal = None if self.tenant_gate is None or caller.is_system else self.tenant_gate.refusal(caller.tenant_id)
        if refusal is not None:
            raise Unauthenticated(f"the tenant is {refusal.removeprefix('tenant_')}", code=refusal)
        return caller


@dataclass(frozen=True)
class Call:
    """What a handler gets besides its request: the verified caller and a tenant-bound session
    whose transaction commits when the handler returns and rolls back when it raises."""

    principal: Principal
    session: AsyncSession


class HasEngine(Protocol):
    engine: AsyncEngine


Req = TypeVar("Req")
Resp = TypeVar("Resp")
S = TypeVar("S", bound=HasEngine)


def rpc(
    *scopes: Scope, read_only: bool = False,
) -> Callable[
    [Callable[[S, Req, Call], Awaitable[Resp]]], Callable[[S, Req, grpc.aio.ServicerContext], Awaitable[Resp]]
]:
    """Declares the scopes a tenant-scoped RPC needs and opens its tenant transaction; a
    `read_only` RPC (hot reads that write nothing) gets an autocommit session instead
    (crm_platform/db.py `tenant_read_session`)."""
    open_session = tenant_read_session if read_only else tenant_session

    def decorate(
        fn: Callable[[S, Req, Call], Awaitable[Resp]],
    ) -> Callable[[S, Req, grpc.aio.ServicerContext], Awaitable[Resp]]:
        @functools.wraps(fn)
        async def handler(self: S, request: Req, context: grpc.aio.ServicerContext) -> Resp:
            caller = current_principal.get()
            if caller is None:
                raise Unauthenticated("missing bearer token")
            caller.require(*scopes)
            async with open_session(self.engine, caller.tenant_id) as session:
                return await fn(self, request, Call(caller, session))

        return handler

    return decorate


def create_server(interceptor: EdgeInterceptor, host: str, port: int) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server(
        interceptors=[interceptor],
        options=[
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    return server, bound


def add_health(server: grpc.aio.Server, service_names: Iterable[str]) -> HealthServicer:
    servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    return servicer


async def set_serving(servicer: HealthServicer, service_names: Iterable[str], serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ["", *service_names]:
        await servicer.set(name, status)
