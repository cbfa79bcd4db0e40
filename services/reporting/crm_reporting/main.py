"""Wiring of the reporting service: settings, the analytics store, servicer and consumer."""

from __future__ import annotations

import hashlib
import secrets
import weakref
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import grpc
from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from crm_platform.config import ServiceSettings
from crm_platform.consumer import Subscription
from crm_platform.jobs import JobWorker
from crm_platform.runtime import ServiceDefinition, ServiceRuntime, serve
from crm_platform.service_tokens import ServiceTokens
from crm_proto.crm.reporting.v1 import (
    delivery_pb2,
    delivery_pb2_grpc,
    report_exports_pb2,
    report_exports_pb2_grpc,
    reporting_pb2,
    reporting_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
)
from crm_reporting.analytics import TenantTable, open_analytics
from crm_reporting.analytics.pending import PendingAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.customers.servicer import ReportingServicer
from crm_reporting.customers.tables import CUSTOMER_STATUS_CHANGES, CUSTOMER_TAGS, CUSTOMERS
from crm_reporting.delivery.identity_access import IdentityAccess
from crm_reporting.delivery.servicer import DeliveryServicer
from crm_reporting.delivery.subscriptions import DELIVER_JOB, SCHEDULE_KIND, Deliverer, fire
from crm_reporting.event_log.tables import EVENTS
from crm_reporting.feedback.tables import FEEDBACK
from crm_reporting.followups.tables import CUSTOMER_ACTIVITY, FOLLOWUP_RECORDS, FOLLOWUP_TASKS
from crm_reporting.offboarding import tenant_data
from crm_reporting.orders.rollup import ROLLUP_TABLES
from crm_reporting.orders.tables import ORDERS
from crm_reporting.projection import reporting_subscription
from crm_reporting.reports.exports import export_worker
from crm_reporting.reports.exports_servicer import ReportExportServicer
from crm_reporting.reports.servicer import ReportServicer
from crm_reporting.scope.service import users_subscription
from crm_reporting.value.segment_changes import SWEEP_JOB as VALUE_SWEEP_JOB
from crm_reporting.value.segment_changes import SWEEP_KIND as VALUE_SWEEP_KIND
from crm_reporting.value.segment_changes import fire_sweeps, recompute_runner
from crm_reporting.value.segments_table import CUSTOMER_VALUE_SEGMENTS

DELIVERY_RETRIES = (timedelta(seconds=10), timedelta(minutes=1), timedelta(minutes=5))
# The derived tables (orders/rollup.py) after those they are filled from (schema.py).
ANALYTICS_TABLES: tuple[TenantTable, ...] = (EVENTS, CUSTOMERS, ORDERS, CUSTOMER_STATUS_CHANGES, CUSTOMER_TAGS,
                                             FEEDBACK, CUSTOMER_VALUE_SEGMENTS, FOLLOWUP_RECORDS, FOLLOWUP_TASKS,
                                             CUSTOMER_ACTIVITY, *ROLLUP_TABLES)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_REPORTING_", extra="ignore")

    service_name: str = "reporting"
    # Data directory of the embedded chDB store (one machine, `crm dev`).
    chdb_path: Path | None = None
    # clickhouse-connect DSN of a ClickHouse server, e.g. http://user:pw@host:8123/crm_reporting;
    # when set it is used instead of chDB.
    clickhouse_url: SecretStr | None = None
    # Events the `reporting` consumer fetches and inserts at once (docs/reporting.md, "Freshness");
    # 1 applies one event per transaction and insert, as before batching (the benchmark's baseline).
    consumer_batch_size: int = 500
    # The gateway's public URL, for links in subscription mails (unsubscribe).
    public_url: str = ""

    @model_validator(mode="after")
    def _needs_an_analytics_store(self) -> Settings:
        if self.chdb_path is None and self.clickhouse_url is None:
            raise ValueError(
                "set CRM_REPORTING_CHDB_PATH (embedded chDB data directory) or "
                "CRM_REPORTING_CLICKHOUSE_URL (ClickHouse server)"
            )
        return self


# One analytics store per runtime (a test may run several runtimes in one process).
_analytics: weakref.WeakKeyDictionary[ServiceRuntime, PendingAnalytics] = weakref.WeakKeyDictionary()


def analytics_of(runtime: ServiceRuntime) -> PendingAnalytics:
    return _analytics.setdefault(runtime, PendingAnalytics())


async def open_store(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    if not isinstance(settings, Settings):
        raise TypeError("the reporting runtime needs crm_reporting.main.Settings")
    url = settings.clickhouse_url.get_secret_value() if settings.clickhouse_url else None
    backend = await open_analytics(chdb_path=settings.chdb_path, clickhouse_url=url)
    await ensure_schema(backend, ANALYTICS_TABLES)
    analytics_of(runtime).attach(backend)


def register(server: grpc.aio.Server, runtime: ServiceRuntime) -> Iterable[str]:
    reporting_pb2_grpc.add_ReportingServiceServicer_to_server(
        ReportingServicer(runtime.engine, analytics_of(runtime)), server
    )
    delivery_pb2_grpc.add_ReportDeliveryServiceServicer_to_server(
        DeliveryServicer(runtime.engine, analytics_of(runtime), runtime, link_key(runtime)), server
    )
    # Saved reports and the report builder (issue 15, reports.proto).
    reports_pb2_grpc.add_ReportServiceServicer_to_server(ReportServicer(runtime.engine, analytics_of(runtime)), server)
    # Report exports as jobs (reports/exports.py, report_exports.proto).
    report_exports_pb2_grpc.add_ReportExportServiceServicer_to_server(ReportExportServicer(runtime.engine), server)
    return [reporting_pb2.DESCRIPTOR.services_by_name["ReportingService"].full_name,
            reports_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name,
            delivery_pb2.DESCRIPTOR.services_by_name["ReportDeliveryService"].full_name,
            report_exports_pb2.DESCRIPTOR.services_by_name["ReportExportService"].full_name]


_link_keys: weakref.WeakKeyDictionary[ServiceRuntime, bytes] = weakref.WeakKeyDictionary()


def link_key(runtime: ServiceRuntime) -> bytes:
    """The HMAC key of unsubscribe links: derived from PAGE_TOKEN_KEY (set the same on every replica;
    unset, a random per-process key: links then stop working after a restart)."""
    if runtime not in _link_keys:
        base = runtime.settings.page_token_key.encode() or secrets.token_bytes(32)
        _link_keys[runtime] = hashlib.sha256(b"crm-reporting-unsubscribe:" + base).digest()
    return _link_keys[runtime]


def delivery_workers(runtime: ServiceRuntime) -> list[JobWorker]:
    settings = runtime.settings
    public_url = settings.public_url if isinstance(settings, Settings) else ""
    # A recipient reporting has not seen an access event for: identity is asked with a service token.
    identity = IdentityAccess(ServiceTokens(settings.identity_addr, "reporting", settings.page_token_key))
    deliverer = Deliverer(runtime.engine, analytics_of(runtime), runtime.mailer, public_url, link_key(runtime),
                          identity)
    return [JobWorker(runtime.engine, {DELIVER_JOB: deliverer.run}, DELIVERY_RETRIES, concurrency=2)]


def value_segment_workers(runtime: ServiceRuntime) -> list[JobWorker]:
    """The value segments' recompute of a whole tenant (rules changed, the daily sweep)."""
    return [JobWorker(runtime.engine, {VALUE_SWEEP_JOB: recompute_runner(runtime.engine, analytics_of(runtime))},
                      DELIVERY_RETRIES, concurrency=1)]


def subscriptions(runtime: ServiceRuntime) -> list[Subscription]:
    # Owner -> team map for data scope `team` on reports (scope/service.py).
    settings = runtime.settings
    batch = settings.consumer_batch_size if isinstance(settings, Settings) else 500
    return [reporting_subscription(analytics_of(runtime), ANALYTICS_TABLES, batch), users_subscription()]


DEFINITION = ServiceDefinition(
    name="reporting",
    package_dir=Path(__file__).parent,
    register=register,
    subscriptions=subscriptions,
    on_start=open_store,
    # Report subscriptions: the scheduler fires, a job computes each recipient's copy, the mailer sends.
    # The value segments' daily recompute (value/segment_changes.py) likewise enqueues a job.
    schedules=lambda runtime: {SCHEDULE_KIND: fire, VALUE_SWEEP_KIND: fire_sweeps},
    # Report exports as jobs (reports/exports.py) and subscription deliveries (delivery/subscriptions.py).
    workers=lambda runtime: [export_worker(runtime, analytics_of(runtime)), *delivery_workers(runtime),
                             *value_segment_workers(runtime)],
    sends_mail=True,
    # The share page and the unsubscribe link carry their own secret instead of a bearer token.
    public_methods=frozenset({"/crm.reporting.v1.ReportDeliveryService/OpenShareLink",
                              "/crm.reporting.v1.ReportDeliveryService/Unsubscribe"}),
    # Offboarding: the tenant's ClickHouse rows are exported and erased with its schema.
    tenant_data=lambda runtime: tenant_data(analytics_of(runtime), ANALYTICS_TABLES),
)


def main() -> None:
    serve(DEFINITION, Settings())  # type: ignore[call-arg]  # required values come from the environment
