"""Customer state for reports: projecting crm.customer.* events, and the customer reports."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crm_platform import telemetry
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics, Row, TenantTable
from crm_reporting.customers.repository import customer_repository
from crm_reporting.customers.tables import CUSTOMER_STATUS_CHANGES, CUSTOMER_TAGS, CUSTOMERS
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope
from crm_reporting.timestamps import parse_rfc3339

log = logging.getLogger(__name__)

CUSTOMER_EVENT_PREFIX = "crm.customer."
# The verbs that carry a whole customer (data = {"customer": {...}}) and what each means for
# the `deleted` flag. crm.customer.deleted / .restored are not in proto/crm/events/v1 yet; they
# are handled the day customers emits them (soft delete and restore exist in the API).
TAG_APPLIED = "crm.tag.applied"
TAG_REMOVED = "crm.tag.removed"
DELETED_AFTER_VERB = {"created": False, "updated": False, "restored": False, "deleted": True}
# Batch verbs of the customer import (crm_customers/importing): data = {"customers": [{...}, ...]},
# each customer deleted when it carries a `deleted_at` (an undone import's created customers).
BATCH_VERBS = ("imported", "import_reverted")
_TEXT_FIELDS = ("type", "industry", "region", "status", "owner_id", "name", "code", "source")


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
    texts = {name: _text(customer, name) for name in _TEXT_FIELDS}
    return {
        "tenant_id": uuid.UUID(event.tenantid),
        "customer_id": _customer_id(customer),
        "version": _version(customer),
        **texts,
        "region_top": texts["region"].split("/", 1)[0],
        "first_contact_on": _first_contact(customer) or created_at.date(),
        "first_contact_date": _first_contact(customer),
        "custom": _custom_fields(customer),
        "created_at": created_at,
        "updated_at": updated_at,
        "deleted": int(deleted),
        "event_id": event.id,
    }


def _custom_fields(customer: dict[str, Any]) -> dict[str, str]:
    """Custom field values as text, for the report builder: numbers as written (`12.5`, `3`),
    booleans `true` / `false`, a multi select's options joined by `,`."""
    raw = customer.get("custom_fields")
    if not isinstance(raw, dict):
        return {}
    values: dict[str, str] = {}
    for key, value in raw.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            values[str(key)] = "true" if value else "false"
        elif isinstance(value, float) and value.is_integer():
            values[str(key)] = str(int(value))
        elif isinstance(value, list):
            values[str(key)] = ",".join(str(v) for v in value)
        else:
            values[str(key)] = str(value)
    return values


def _first_contact(customer: dict[str, Any]) -> date | None:
    raw = customer.get("first_contact_date")
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None


def status_change_row(event: CloudEvent, version_row: Row) -> Row | None:
    """The status-history row of a customer event: its creation or import (the initial status) and an
    update whose `changed_fields` names `status`; None for other changes."""
    verb = event.type.removeprefix(CUSTOMER_EVENT_PREFIX)
    if verb == "imported":
        verb = "created" if not version_row["deleted"] else ""
    changed = event.data.get("changed_fields")
    entered = verb == "created" or (verb == "updated" and isinstance(changed, list) and "status" in changed)
    if not entered or not version_row["status"]:
        return None
    at = version_row["created_at"] if verb == "created" else version_row["updated_at"]
    return {
        "tenant_id": version_row["tenant_id"], "customer_id": version_row["customer_id"],
        "version": version_row["version"], "status": version_row["status"], "changed_at": at,
        "event_id": event.id,
    }


class CustomerService:
    def projects(self, event: CloudEvent) -> bool:
        return event.type.startswith(CUSTOMER_EVENT_PREFIX)

    def rows(self, event: CloudEvent) -> list[tuple[TenantTable, Row]]:
        """The customer versions an event carries (one, or an import batch's), and a status-history
        row for each that entered a status. A payload that cannot be projected is logged and skipped
        (retrying would not fix it)."""
        try:
            versions = customer_version_rows(event)
        except InvalidCustomerEvent as exc:
            log.warning(
                "customer event not projected", extra=telemetry.log_fields(event_id=event.id, reason=str(exc))
            )
            return []
        found: list[tuple[TenantTable, Row]] = []
        for row in versions:
            found.append((CUSTOMERS, row))
            change = status_change_row(event, row)
            if change is not None:
                found.append((CUSTOMER_STATUS_CHANGES, change))
        return found

    def tag_rows(self, event: CloudEvent) -> list[tuple[TenantTable, Row]]:
        """`crm.tag.applied` / `.removed`: the (tag, customer) pair with tagging's change number."""
        removed = {TAG_APPLIED: 0, TAG_REMOVED: 1}.get(event.type)
        if removed is None:
            return []
        try:
            customer_id, tag_id = uuid.UUID(str(event.data["customer_id"])), uuid.UUID(str(event.data["tag_id"]))
            change_seq = int(event.data.get("change_seq") or 0)
        except (KeyError, ValueError, TypeError):
            log.warning("tag event not projected", extra=telemetry.log_fields(event_id=event.id))
            return []
        return [(CUSTOMER_TAGS, {
            "tenant_id": uuid.UUID(event.tenantid), "tag_id": tag_id, "customer_id": customer_id,
            "change_seq": change_seq, "removed": removed, "event_id": event.id,
            "tag_name": str(event.data.get("tag_name") or ""),
        })]

    async def customers_by_industry(
        self, analytics: Analytics, tenant_id: uuid.UUID, scope: ReportScope = EVERY_CUSTOMER
    ) -> CustomersByIndustry:
        rows = [
            IndustryCount(industry=str(r["industry"]), customers=int(r["customers"]))
            for r in await customer_repository.count_by_industry(analytics, tenant_id, scope)
        ]
        return CustomersByIndustry(rows=rows, total=sum(r.customers for r in rows))


customer_service = CustomerService()
