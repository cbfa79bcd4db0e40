"""The `customers-tags` consumer: tagging's `tag.applied` / `tag.removed` kept as the customer tag
projection the list filters on. Each event carries tagging's `change_seq`; only a newer change
replaces the one held, so redelivery and reordering are harmless (docs/events.md)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.tags import repository
from crm_platform import telemetry
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

log = logging.getLogger(__name__)

DURABLE_NAME = "customers-tags"
SUBJECTS = ["crm.*.tag.applied", "crm.*.tag.removed"]
REMOVED = "crm.tag.removed"


async def record_tag_change(event: CloudEvent, session: AsyncSession) -> None:
    data = event.data
    try:
        customer_id, tag_id = uuid.UUID(str(data.get("customer_id"))), uuid.UUID(str(data.get("tag_id")))
        # proto3 JSON writes int64 as a string
        change_seq = int(data.get("change_seq") or 0)
    except (TypeError, ValueError):
        # Redelivery cannot fix a malformed payload: skip it (the inbox records it as seen).
        log.warning("tag event without valid ids; skipped",
                    extra=telemetry.log_fields(event_id=event.id, type=event.type))
        return
    await repository.record_change(session, customer_id=customer_id, tag_id=tag_id, change_seq=change_seq,
                                   removed=event.type == REMOVED)


def tags_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_tag_change)
