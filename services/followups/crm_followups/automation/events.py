"""The NATS edge of outcome automation: the `followups-automation` consumer reads follow-up records,
orders and applied tags and fires the matching rules (crm_followups/automation/service.py)."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.automation.service import AutomationService, Trigger
from crm_platform import telemetry
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

log = logging.getLogger(__name__)

DURABLE = "followups-automation"
SUBJECTS = ["crm.*.followup_record.created", "crm.*.order.recorded", "crm.*.tag.applied"]


def trigger_of(event: CloudEvent) -> Trigger | None:
    """What the event says for matching, None if it can trigger nothing (or is malformed)."""
    data = event.data or {}
    try:
        if event.type.endswith(".followup_record.created"):
            record = data.get("record") or {}
            return Trigger("record_result", str(record.get("result") or ""), uuid.UUID(str(record.get("customer_id"))),
                           str(record.get("followed_by") or ""), event.id, event.type)
        if event.type.endswith(".order.recorded"):
            if int(data.get("version") or 0) != 1:  # a change of a recorded order triggers nothing
                return None
            return Trigger("order_recorded", str(data.get("kind") or "order"), uuid.UUID(str(data.get("customer_id"))),
                           "", event.id, event.type)
        if event.type.endswith(".tag.applied"):
            return Trigger("tag_applied", str(data.get("tag_id") or ""), uuid.UUID(str(data.get("customer_id"))),
                           str(data.get("actor") or ""), event.id, event.type)
    except (ValueError, TypeError):
        log.warning("automation: malformed event skipped", extra=telemetry.log_fields(event_id=event.id))
    return None


def subscription(automation: AutomationService) -> Subscription:
    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        seen = trigger_of(event)
        if seen is not None and seen.value:
            await automation.handle(session, event.tenantid, seen)

    return Subscription(durable=DURABLE, filter_subjects=SUBJECTS, handler=handle)
