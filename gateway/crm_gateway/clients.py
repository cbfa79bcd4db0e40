"""gRPC stubs (one channel per service) and the one way routes call them: `Caller.call`, which
forwards the caller's token and locale, applies the deadline and turns failures into
`UpstreamError` for the problem mapper."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import grpc
from fastapi import Request
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm_gateway.i18n import DEFAULT_LOCALE, Locale
from crm_gateway.problems import FieldRenamer, UpstreamError, keep_field
from crm_gateway.settings import GatewaySettings
from crm_platform.auth import Principal
from crm_platform.grpc_client import DEFAULT_DEADLINE, call_metadata, channel
from crm_proto.crm.customers.v1 import (
    activity_pb2_grpc,
    bulk_changes_pb2_grpc,
    customers_pb2_grpc,
    erasure_pb2_grpc,
    merges_pb2_grpc,
    orders_pb2_grpc,
)
from crm_proto.crm.customers.v1 import duplicates_pb2_grpc as customer_duplicates_pb2_grpc
from crm_proto.crm.customers.v1 import exports_pb2_grpc as customer_exports_pb2_grpc
from crm_proto.crm.customers.v1 import imports_pb2_grpc as customer_imports_pb2_grpc
from crm_proto.crm.customers.v1 import views_pb2_grpc as customer_views_pb2_grpc
from crm_proto.crm.followups.v1 import followups_pb2_grpc
from crm_proto.crm.identity.v1 import account_security_pb2_grpc, identity_pb2, identity_pb2_grpc, user_admin_pb2_grpc
from crm_proto.crm.reporting.v1 import (
    delivery_pb2_grpc,
    report_exports_pb2_grpc,
    reporting_pb2_grpc,
    reports_pb2_grpc,
)
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_proto.crm.webhooks.v1 import webhooks_pb2_grpc

READINESS_DEADLINE = 1.0


@dataclass
class Backends:
    """The services behind the gateway. Create inside the event loop (grpc.aio channels bind to it)."""

    identity: Any
    customers: Any
    tagging: Any
    followups: Any
    reporting: Any
    webhooks: Any
    identity_health: Any
    # crm.customers.v1.OrderService (orders and contracts, on the customers channel).
    orders: Any = None
    # crm.customers.v1.CustomerErasureService (permanent erasure, on the customers channel).
    erasure: Any = None
    channels: list[grpc.aio.Channel] = field(default_factory=list)
    # crm.customers.v1.CustomerActivityService / CustomerBulkChangeService (on the customers channel).
    customer_activity: Any = None
    customer_bulk_changes: Any = None
    # identity's sign-in sessions and TOTP management (account_security.proto)
    account_security: Any = None
    # identity's invitations and user import (user_admin.proto)
    user_admin: Any = None
    # crm.customers.v1.CustomerViewService (saved list views, on the customers channel).
    customer_views: Any = None
    # crm.customers.v1.CustomerExportService (customer exports, on the customers channel).
    customer_exports: Any = None
    # crm.customers.v1.CustomerImportService (customer imports, on the customers channel).
    customer_imports: Any = None
    # crm.customers.v1.MergeService (merge and undo, on the customers channel).
    merges: Any = None
    # crm.customers.v1.DuplicateService (duplicate scans and groups, on the customers channel).
    customer_duplicates: Any = None
    # crm.reporting.v1.ReportDeliveryService (share links and subscriptions, on the reporting channel).
    delivery: Any = None
    # crm.reporting.v1.ReportService (saved reports and the report builder, on the reporting channel).
    reports: Any = None
    # crm.reporting.v1.ReportExportService (report exports as jobs, on the reporting channel).
    report_exports: Any = None

    @classmethod
    def connect(cls, settings: GatewaySettings) -> Backends:
        channels = {
            name: channel(getattr(settings, f"{name}_addr"))
            for name in ("identity", "customers", "tagging", "followups", "reporting", "webhooks")
        }
        return cls(
            identity=identity_pb2_grpc.IdentityServiceStub(channels["identity"]),
            customers=customers_pb2_grpc.CustomerServiceStub(channels["customers"]),
            tagging=tagging_pb2_grpc.TaggingServiceStub(channels["tagging"]),
            followups=followups_pb2_grpc.FollowupServiceStub(channels["followups"]),
            reporting=reporting_pb2_grpc.ReportingServiceStub(channels["reporting"]),
            webhooks=webhooks_pb2_grpc.WebhookServiceStub(channels["webhooks"]),
            identity_health=health_pb2_grpc.HealthStub(channels["identity"]),
            orders=orders_pb2_grpc.OrderServiceStub(channels["customers"]),
            erasure=erasure_pb2_grpc.CustomerErasureServiceStub(channels["customers"]),
            channels=list(channels.values()),
            customer_activity=activity_pb2_grpc.CustomerActivityServiceStub(channels["customers"]),
            customer_bulk_changes=bulk_changes_pb2_grpc.CustomerBulkChangeServiceStub(channels["customers"]),
            account_security=account_security_pb2_grpc.AccountSecurityServiceStub(channels["identity"]),
            user_admin=user_admin_pb2_grpc.UserAdminServiceStub(channels["identity"]),
            customer_views=customer_views_pb2_grpc.CustomerViewServiceStub(channels["customers"]),
            customer_exports=customer_exports_pb2_grpc.CustomerExportServiceStub(channels["customers"]),
            customer_imports=customer_imports_pb2_grpc.CustomerImportServiceStub(channels["customers"]),
            merges=merges_pb2_grpc.MergeServiceStub(channels["customers"]),
            customer_duplicates=customer_duplicates_pb2_grpc.DuplicateServiceStub(channels["customers"]),
            delivery=delivery_pb2_grpc.ReportDeliveryServiceStub(channels["reporting"]),
            reports=reports_pb2_grpc.ReportServiceStub(channels["reporting"]),
            report_exports=report_exports_pb2_grpc.ReportExportServiceStub(channels["reporting"]),
        )

    async def close(self) -> None:
        for ch in self.channels:
            await ch.close(None)

    async def fetch_jwks(self) -> dict[str, Any]:
        """Identity's public keys, for `crm_platform.auth.JwksCache`."""
        reply = await Caller(DEFAULT_LOCALE).call(self.identity.GetJwks, identity_pb2.GetJwksRequest())
        keys: dict[str, Any] = json.loads(reply.jwks_json)
        return keys

    async def identity_ready(self) -> bool:
        try:
            reply = await self.identity_health.Check(health_pb2.HealthCheckRequest(), timeout=READINESS_DEADLINE)
        except grpc.aio.AioRpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def backends(request: Request) -> Backends:
    """Dependency: the stubs opened at start-up (see app.lifespan). Async so it runs on the loop
    (FastAPI runs a plain `def` dependency in a worker thread, a thread hop per request)."""
    stubs: Backends = request.app.state.backends
    return stubs


def request_origin(request: Request) -> tuple[tuple[str, str], ...]:
    """Where the request came from, as gRPC metadata: the proxy chain plus our peer
    (`x-forwarded-for`) and the browser's user agent (`x-client-user-agent`: gRPC replaces
    `user-agent` with its own). Identity's audit log reads these (crm_identity/audit/log.py)."""
    peer = request.client.host if request.client else ""
    forwarded = request.headers.get("x-forwarded-for", "")
    chain = ", ".join(p for p in (forwarded, peer) if p)
    return (("x-forwarded-for", chain), ("x-client-user-agent", request.headers.get("user-agent", "")))


def _method_name(method: Any) -> str:
    raw = getattr(method, "_method", b"")
    return raw.decode() if isinstance(raw, bytes) else str(raw)


@dataclass(frozen=True)
class Caller:
    """On whose behalf gRPC calls are made: the raw bearer token is forwarded as is (each service
    verifies it: zero trust), with the caller's locale and the trace context."""

    locale: Locale
    token: str | None = None
    principal: Principal | None = None
    deadline: float = DEFAULT_DEADLINE
    # Where the request came from (`request_origin`), sent on every call for the services' audit logs.
    origin: tuple[tuple[str, str], ...] = ()

    async def call(self, method: Any, request: Any, *, rename: FieldRenamer = keep_field) -> Any:
        """`await caller.call(stub.GetCustomer, GetCustomerRequest(id=...))`; `rename` maps the
        service's field names in InvalidInput errors back to the REST body's names."""
        try:
            return await method(
                request, metadata=call_metadata(self.token, self.locale) + self.origin, timeout=self.deadline
            )
        except grpc.aio.AioRpcError as exc:
            raise UpstreamError.from_rpc(exc, _method_name(method), rename) from exc
