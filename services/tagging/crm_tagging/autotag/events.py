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
CUSTOMER_CHANGES = ["crm.*.customer.created", "crm.*.customer.updated"]


def customer_in(event: CloudEvent) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """The customer's id and fields from a CustomerCreated/CustomerUpdated payload."""
    customer = event.data.get("customer")
    if not isinstance(customer, dict):
        return None
    try:
        return uuid.UUID(str(customer.get("id"))), customer
    except ValueError:
        return None


def subscription(autotag: AutoTagService) -> Subscription:
    async def tag_customer(event: CloudEvent, session: AsyncSession) -> None:
        found = customer_in(event)
        if found is None:
            # Redelivery cannot fix a malformed payload: skip it (the inbox records it as seen).
            log.warning("customer event without a valid customer; skipped",
                        extra=telemetry.log_fields(event_id=event.id, type=event.type))
            return
        customer_id, fields = found
        await autotag.tag_customer(session, event.tenantid, customer_id, fields)

    return Subscription(durable=DURABLE, filter_subjects=CUSTOMER_CHANGES, handler=tag_customer)
