"""Customer state for reports: projecting crm.customer.* events, and the customer reports."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_platform import telemetry
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics, Row
from crm_reporting.customers.repository import customer_repository
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from crm_reporting.timestamps import parse_rfc3339

log = logging.getLogger(__name__)

CUSTOMER_EVENT_PREFIX = "crm.customer."
# The verbs that carry a whole customer (data = {"customer": {...}}) and what each means for
# the `deleted` flag. crm.customer.deleted / .restored are not in proto/crm/events/v1 yet; they
# are handled the day customers emits them (soft delete and restore exist in the API).
DELETED_AFTER_VERB = {"created": False, "updated": False, "restored": False, "deleted": True}
# Batch verbs of the customer import (crm_customers/importing): data = {"customers": [{...}, ...]},
# each customer deleted when it carries a `deleted_at` (an undone import's created customers).
BATCH_VERBS = ("imported", "import_reverted")
_TEXT_FIELDS = ("type", "industry", "region", "status", "owner_id")


class InvalidCustomerEvent(ValueError):
    """A customer event whose payload cannot be projected (it stays in the event log)."""


@dataclass(frozen=True)
class IndustryCount:
    industry: str
    customers: int


@dataclass(frozen=True)
class CustomersByIndustry:
    rows: list[IndustryCount]
    total: int


def _customer_id(customer: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(customer["id"]))
    except (KeyError, ValueError) as exc:
        raise InvalidCustomerEvent("customer.id is missing or not a UUID") from exc


def _version(customer: dict[str, Any]) -> int:
    # proto3 JSON writes int64 as a string.
    raw = customer.get("version")
    try:
        version = int(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else 0
    except ValueError:
        version = 0
    if version < 1:
        raise InvalidCustomerEvent("customer.version is missing or not a positive integer")
    return version


def _text(customer: dict[str, Any], name: str) -> str:
    value = customer.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidCustomerEvent(f"customer.{name} is not a string")
    return value


def customer_version_row(event: CloudEvent) -> Row:
    """The customers-table row one customer event stands for."""
    verb = event.type.removeprefix(CUSTOMER_EVENT_PREFIX)
    if verb not in DELETED_AFTER_VERB:
        raise InvalidCustomerEvent(f"{event.type} does not carry a customer state")
    customer = event.data.get("customer")
    if not isinstance(customer, dict):
        raise InvalidCustomerEvent("data.customer is missing")
    return _version_row(event, customer, DELETED_AFTER_VERB[verb])


def customer_version_rows(event: CloudEvent) -> list[Row]:
    """The rows a customer event stands for: one, or every customer of an import batch."""
    verb = event.type.removeprefix(CUSTOMER_EVENT_PREFIX)
    if verb not in BATCH_VERBS:
        return [customer_version_row(event)]
    batch = event.data.get("customers")
    if not isinstance(batch, list) or not all(isinstance(c, dict) for c in batch):
        raise InvalidCustomerEvent("data.customers is missing")
    return [_version_row(event, c, bool(c.get("deleted_at"))) for c in batch]


def _version_row(event: CloudEvent, customer: dict[str, Any], deleted: bool) -> Row:
    event_time: datetime | None = parse_rfc3339(event.time)
    updated_at = parse_rfc3339(customer.get("updated_at")) or event_time
    created_at = parse_rfc3339(customer.get("created_at")) or updated_at
    if updated_at is None or created_at is None:
        raise InvalidCustomerEvent("the event names no usable time")
    return {
        "tenant_id": uuid.UUID(event.tenantid),
        "customer_id": _customer_id(customer),
        "version": _version(customer),
        **{name: _text(customer, name) for name in _TEXT_FIELDS},
        "created_at": created_at,
        "updated_at": updated_at,
        "deleted": int(deleted),
        "event_id": event.id,
    }


class CustomerService:
    def projects(self, event: CloudEvent) -> bool:
        return event.type.startswith(CUSTOMER_EVENT_PREFIX)

    async def record(self, analytics: Analytics, event: CloudEvent) -> None:
        """Stores the customer version an event carries. A payload that cannot be projected is
        logged and skipped (retrying would not fix it); store failures propagate, so the event
        is redelivered."""
        try:
            rows = customer_version_rows(event)
        except InvalidCustomerEvent as exc:
            log.warning(
                "customer event not projected", extra=telemetry.log_fields(event_id=event.id, reason=str(exc))
            )
            return
        await customer_repository.save_versions(analytics, rows)

    async def customers_by_industry(
        self, analytics: Analytics, tenant_id: uuid.UUID, scope: ReportScope = EVERY_CUSTOMER
    ) -> CustomersByIndustry:
        rows = [
            IndustryCount(industry=str(r["industry"]), customers=int(r["customers"]))
            for r in await customer_repository.count_by_industry(analytics, tenant_id, scope)
        ]
        return CustomersByIndustry(rows=rows, total=sum(r.customers for r in rows))


customer_service = CustomerService()
