"""The NATS edge of auto-tagging: customer created/updated events run the tenant's rules. The
consumer wrapper owns the inbox transaction, so a redelivered event applies nothing twice."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import telemetry
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent
from crm_tagging.autotag.service import AutoTagService

log = logging.getLogger(__name__)

DURABLE = "tagging"
# `customer.imported` carries a batch of customers (crm_customers/importing): every one is tagged.
CUSTOMER_CHANGES = ["crm.*.customer.created", "crm.*.customer.updated", "crm.*.customer.imported"]


def customer_in(event: CloudEvent) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """The customer's id and fields from a CustomerCreated/CustomerUpdated payload."""
    customer = event.data.get("customer")
    if not isinstance(customer, dict):
        return None
    try:
        return uuid.UUID(str(customer.get("id"))), customer
    except ValueError:
        return None


def customers_in(event: CloudEvent) -> list[tuple[uuid.UUID, dict[str, Any]]] | None:
    """Ids and fields of a CustomersImported batch payload (data = {"customers": [...]})."""
    batch = event.data.get("customers")
    if not isinstance(batch, list):
        return None
    found: list[tuple[uuid.UUID, dict[str, Any]]] = []
    for customer in batch:
        if not isinstance(customer, dict):
            return None
        try:
            found.append((uuid.UUID(str(customer.get("id"))), customer))
        except ValueError:
            return None
    return found


def subscription(autotag: AutoTagService) -> Subscription:
    async def tag_customer(event: CloudEvent, session: AsyncSession) -> None:
        if event.type.endswith(".imported"):
            batch = customers_in(event)
            if batch is None:
                log.warning("customer batch event without valid customers; skipped",
                            extra=telemetry.log_fields(event_id=event.id, type=event.type))
                return
            await autotag.tag_customers(session, event.tenantid, batch)
            return
        found = customer_in(event)
        if found is None:
            # Redelivery cannot fix a malformed payload: skip it (the inbox records it as seen).
            log.warning("customer event without a valid customer; skipped",
                        extra=telemetry.log_fields(event_id=event.id, type=event.type))
            return
        customer_id, fields = found
        await autotag.tag_customer(session, event.tenantid, customer_id, fields)

    return Subscription(durable=DURABLE, filter_subjects=CUSTOMER_CHANGES, handler=tag_customer)
