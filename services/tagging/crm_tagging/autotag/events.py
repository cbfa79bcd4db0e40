"""The NATS edge of auto-tagging: customers' events keep the rule facts (autotag/facts.py) and
then run the tenant's rules for that customer, each tag recording the event as its trigger. The
consumer wrapper owns the inbox transaction, so a redelivered event applies nothing twice; events
about an erased customer are skipped."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import telemetry
from crm_platform.consumer import Subscription
from crm_platform.erasure import about_erased_customer, erased_among
from crm_platform.events import CloudEvent
from crm_tagging.autotag import facts
from crm_tagging.autotag.conditions import VALUE_SEGMENTS
from crm_tagging.autotag.service import AutoTagService

log = logging.getLogger(__name__)

# A new durable (the first version's "tagging" read created/updated only): it reads the stream from
# its start, so the facts of customers and orders from before it existed are projected too.
DURABLE = "tagging-rules"
# `customer.imported` / `.import_reverted` carry a batch of customers (crm_customers/importing).
CUSTOMER_CHANGES = ["crm.*.customer.created", "crm.*.customer.updated", "crm.*.customer.deleted",
                    "crm.*.customer.restored", "crm.*.order.recorded", "crm.*.customer.imported",
                    "crm.*.customer.import_reverted", "crm.*.followup_record.created",
                    "crm.*.value_segment.changed"]
BATCH_SUFFIXES = (".customer.imported", ".customer.import_reverted")


def customer_in(event: CloudEvent) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """The customer's id and fields from a customer event's payload."""
    customer = event.data.get("customer")
    if not isinstance(customer, dict):
        return None
    try:
        return uuid.UUID(str(customer.get("id"))), customer
    except ValueError:
        return None


def customers_in(event: CloudEvent) -> list[tuple[uuid.UUID, dict[str, Any]]] | None:
    """Ids and fields of an import batch's payload (data = {"customers": [...]})."""
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


def trigger_of(event: CloudEvent) -> str:
    """What a rule's tag records as its cause: the event's type and id."""
    return f"{event.type} {event.id}"


def value_segment_changes(event: CloudEvent) -> list[tuple[uuid.UUID, str, int]]:
    """(customer, segment, version) of a `value_segment.changed` event's well-formed changes."""
    found: list[tuple[uuid.UUID, str, int]] = []
    for change in event.data.get("changes") or ():
        try:
            segment = str(change.get("segment") or "")
            if segment and segment not in VALUE_SEGMENTS:
                raise ValueError(segment)
            found.append((uuid.UUID(str(change["customer_id"])), segment, int(change.get("version") or 0)))
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("value segment change skipped", extra=telemetry.log_fields(event_id=event.id))
    return found


def subscription(autotag: AutoTagService) -> Subscription:
    async def tag_customer(event: CloudEvent, session: AsyncSession) -> None:
        if event.type.endswith(".value_segment.changed"):
            # Reporting's batch: each customer's rules run with the change as trigger (erased
            # customers have no facts and get none: reporting publishes nothing for them).
            erased = set(await erased_among(session, uuid.UUID(event.tenantid),
                                            {c for c, _, _ in value_segment_changes(event)}))
            changes = [c for c in value_segment_changes(event) if c[0] not in erased]
            for valued in await facts.record_value_segments(session, changes):
                await autotag.tag_customer(session, event.tenantid, valued, trigger_of(event))
            return
        if await about_erased_customer(session, event):
            return
        if event.type.endswith(".followup_record.created"):
            record = event.data.get("record")
            customer_id = await facts.record_followup(session, record) if isinstance(record, dict) else None
            if customer_id is not None:
                await autotag.tag_customer(session, event.tenantid, customer_id, trigger_of(event))
            return
        if event.type.endswith(".order.recorded"):
            customer_id = await facts.record_order(session, event.data)
            if customer_id is not None:
                await autotag.tag_customer(session, event.tenantid, customer_id, trigger_of(event))
            return
        if event.type.endswith(BATCH_SUFFIXES):
            batch = customers_in(event)
            if batch is None:
                log.warning("customer batch event without valid customers; skipped",
                            extra=telemetry.log_fields(event_id=event.id, type=event.type))
                return
            for customer_id, fields in batch:
                if await facts.record_customer(session, customer_id, fields, status_changed=False,
                                               at=facts.parse_time(event.time)):
                    await autotag.tag_customer(session, event.tenantid, customer_id, trigger_of(event))
            return
        found = customer_in(event)
        if found is None:
            # Redelivery cannot fix a malformed payload: skip it (the inbox records it as seen).
            log.warning("customer event without a valid customer; skipped",
                        extra=telemetry.log_fields(event_id=event.id, type=event.type))
            return
        customer_id, fields = found
        changed = event.data.get("changed_fields") or []
        status_changed = event.type.endswith(".customer.updated") and "status" in changed
        if await facts.record_customer(session, customer_id, fields, status_changed=status_changed,
                                       at=facts.parse_time(event.time)):
            await autotag.tag_customer(session, event.tenantid, customer_id, trigger_of(event))

    return Subscription(durable=DURABLE, filter_subjects=CUSTOMER_CHANGES, handler=tag_customer)
