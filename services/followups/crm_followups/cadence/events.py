"""The NATS edge of cadences: tag.applied events schedule follow-up tasks, tag.removed stops them.
The consumer wrapper owns the inbox transaction (a redelivered event does nothing); the tasks table's unique
(source_event_id, cadence_rule_id) is the second guard."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.cadence.service import CadenceService
from crm_platform import telemetry
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

log = logging.getLogger(__name__)

DURABLE = "followups"
TAG_APPLIED = ["crm.*.tag.applied"]
# Removing the tag stops the customer's cadences of it (open tasks cancelled, recurring schedules removed).
TAG_REMOVED = "crm.*.tag.removed"


def occurred_at(event: CloudEvent) -> datetime:
    """When the tag was applied: the event's time, so a consumer catching up after an outage
    still counts the N days from the real moment; now if the time is unreadable."""
    try:
        moment = datetime.fromisoformat(event.time)
    except (TypeError, ValueError):
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def tagged_customer(event: CloudEvent) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(customer id, tag id) from a TagApplied payload."""
    try:
        return uuid.UUID(str(event.data.get("customer_id"))), uuid.UUID(str(event.data.get("tag_id")))
    except ValueError:
        return None


def subscription(cadences: CadenceService) -> Subscription:
    async def schedule_followups(event: CloudEvent, session: AsyncSession) -> None:
        found = tagged_customer(event)
        if found is None:
            # Redelivery cannot fix a malformed payload: skip it (the inbox records it as seen).
            log.warning("tag.applied without valid ids; skipped",
                        extra=telemetry.log_fields(event_id=event.id))
            return
        customer_id, tag_id = found
        if event.type.endswith(".tag.removed"):
            await cadences.tag_removed(session, event.tenantid, customer_id=customer_id, tag_id=tag_id)
            return
        await cadences.tag_applied(session, event.tenantid, customer_id=customer_id, tag_id=tag_id,
                                   applied_at=occurred_at(event), event_id=event.id)

    return Subscription(durable=DURABLE, filter_subjects=[*TAG_APPLIED, TAG_REMOVED], handler=schedule_followups)
