"""The `customers-value-segments` consumer: reporting's `crm.value_segment.changed` kept on each
customer (column.py), so a segment with `value_segments` is one indexed condition of the list
query. Each change carries a per-customer version; only a newer one replaces the one held, so
redelivery and reordering are harmless (docs/events.md)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.value_segments import column
from crm_platform import telemetry
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

log = logging.getLogger(__name__)

DURABLE_NAME = "customers-value-segments"
SUBJECTS = ["crm.*.value_segment.changed"]


def parse_changes(event: CloudEvent) -> list[tuple[uuid.UUID, str, int]]:
    """(customer, segment, version) of each well-formed change; malformed ones are logged and
    skipped (redelivery cannot fix them)."""
    found: list[tuple[uuid.UUID, str, int]] = []
    for change in event.data.get("changes") or ():
        try:
            segment = str(change.get("segment") or "")
            if segment and segment not in column.VALUE_SEGMENTS:
                raise ValueError(segment)
            found.append((uuid.UUID(str(change["customer_id"])), segment, int(change.get("version") or 0)))
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("value segment change skipped", extra=telemetry.log_fields(event_id=event.id))
    return found


async def record_value_segments(event: CloudEvent, session: AsyncSession) -> None:
    await column.record(session, parse_changes(event))


def value_segments_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_value_segments)
