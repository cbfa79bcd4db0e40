"""Recording consumed events in the event log."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics, Row
from crm_reporting.event_log.repository import event_log_repository
from crm_reporting.timestamps import parse_rfc3339


def event_row(event: CloudEvent) -> Row:
    return {
        "tenant_id": uuid.UUID(event.tenantid),
        "event_id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject or "",
        # A malformed time is kept as the time we saw the event rather than losing the event.
        "time": parse_rfc3339(event.time) or datetime.now(UTC),
        "data": json.dumps(event.data, ensure_ascii=False, separators=(",", ":")),
    }


class EventLogService:
    async def record(self, analytics: Analytics, event: CloudEvent) -> None:
        await event_log_repository.append(analytics, [event_row(event)])

    async def count(self, analytics: Analytics, tenant_id: uuid.UUID, event_type: str | None = None) -> int:
        return await event_log_repository.count(analytics, tenant_id, event_type)


event_log_service = EventLogService()
