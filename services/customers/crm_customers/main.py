"""customers: customer records, validation, events."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import grpc
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from crm_customers import automation
from crm_customers.activity import servicer as activity_servicer
from crm_customers.activity.events import activity_subscription
from crm_customers.bulk import servicer as bulk_servicer
from crm_customers.bulk.worker import bulk_change_worker
from crm_customers.customer.service import CustomerService
from crm_customers.customer.servicer import SERVICE_NAME, CustomerServicer
from crm_customers.customer.users import users_subscription
from crm_customers.duplicates import servicer as duplicates_servicer
from crm_customers.duplicates.scan import duplicate_scan_worker
from crm_customers.erasure import servicer as erasure_servicer
from crm_customers.exports import servicer as exports_servicer
from crm_customers.exports.worker import export_worker
from crm_customers.importing import servicer as imports_servicer
from crm_customers.importing.worker import import_worker
from crm_customers.merge import servicer as merge_servicer
from crm_customers.metrics import service as metrics
from crm_customers.orders.service import OrderService
from crm_customers.orders.servicer import SERVICE_NAME as ORDERS_SERVICE_NAME
from crm_customers.orders.servicer import OrderServicer
from crm_customers.segments import servicer as segments_servicer
from crm_customers.sensitive.keys import LocalKeyWrapper, decode_master_key
from crm_customers.sensitive.resealing import reseal_targets
from crm_customers.sensitive.restore import restore_hook
from crm_customers.sensitive.service import SensitiveFields
from crm_customers.tags.events import tags_subscription
from crm_customers.value_segments.events import value_segments_subscription
from crm_customers.views import servicer as views_servicer
from crm_platform import resealing
from crm_platform.config import ServiceSettings
from crm_platform.offboarding import TenantDataHook
from crm_platform.pagination import PageTokens
from crm_platform.runtime import ServiceDefinition, ServiceRuntime, serve
from crm_proto.crm.customers.v1 import customers_pb2_grpc, orders_pb2_grpc


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_CUSTOMERS_", extra="ignore")

    service_name: str = "customers"
    # base64 of 32 bytes; wraps each tenant's data key for sensitive fields. Checked at start-up.
    master_key: str = Field("", validate_default=True)

    @field_validator("master_key")
    @classmethod
    def _usable_master_key(cls, value: str) -> str:
        decode_master_key(value)  # raises ValueError naming CRM_CUSTOMERS_MASTER_KEY
        return value


def _customer_service(runtime: ServiceRuntime) -> CustomerService:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return CustomerService(PageTokens(settings.page_token_key), SensitiveFields(LocalKeyWrapper(settings.master_key)))


def _register(server: grpc.aio.Server, runtime: ServiceRuntime) -> Iterable[str]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    service = CustomerService(
        PageTokens(settings.page_token_key), SensitiveFields(LocalKeyWrapper(settings.master_key))
    )
    customers_pb2_grpc.add_CustomerServiceServicer_to_server(CustomerServicer(runtime.engine, service), server)
    orders_pb2_grpc.add_OrderServiceServicer_to_server(
        OrderServicer(runtime.engine, OrderService(PageTokens(settings.page_token_key))), server
    )
    return [SERVICE_NAME, ORDERS_SERVICE_NAME, erasure_servicer.add_to_server(server, runtime.engine),
            merge_servicer.add_to_server(server, runtime.engine, service, PageTokens(settings.page_token_key)),
            activity_servicer.add_to_server(server, runtime.engine, service, PageTokens(settings.page_token_key)),
            bulk_servicer.add_to_server(server, runtime.engine, service, PageTokens(settings.page_token_key)),
            views_servicer.add_to_server(server, runtime.engine, service),
            segments_servicer.add_to_server(server, runtime.engine, service),
            exports_servicer.add_to_server(server, runtime.engine, service),
            imports_servicer.add_to_server(server, runtime.engine, service.sensitive,
                                           PageTokens(settings.page_token_key)),
            duplicates_servicer.add_to_server(server, runtime.engine, PageTokens(settings.page_token_key))]


def _tenant_data(runtime: ServiceRuntime) -> TenantDataHook:
    """Restore: the data key and sealed fields re-bound to the new tenant (sensitive/restore.py)."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return restore_hook(runtime.engine, LocalKeyWrapper(settings.master_key))


DEFINITION = ServiceDefinition(
    name="customers", package_dir=Path(__file__).parent, register=_register, tenant_data=_tenant_data,
    # Owner -> team map for data scope `team` (customer/users.py).
    subscriptions=lambda runtime: [users_subscription(), activity_subscription(), tags_subscription(),
                                   automation.subscription(_customer_service(runtime)),
                                   value_segments_subscription()],
    # The value metrics' sliding windows (crm_customers/metrics).
    schedules=lambda runtime: {metrics.REFRESH_SCHEDULE: metrics.refresh_stale},
    workers=lambda runtime: [bulk_change_worker(runtime, _customer_service(runtime)),
                             duplicate_scan_worker(runtime),
                             export_worker(runtime, _customer_service(runtime)),
                             import_worker(runtime, _customer_service(runtime).sensitive),
                             # Sensitive values and data keys into the platform's sealing envelope (c0035).
                             resealing.worker(runtime.engine, reseal_targets(_customer_service(runtime).sensitive))],
)


def main() -> None:
    serve(DEFINITION, Settings())  # type: ignore[call-arg]
