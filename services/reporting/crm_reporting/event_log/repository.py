"""Every statement on the event log table."""

from __future__ import annotations

import uuid

from crm_reporting.analytics import Analytics, Row, TenantQuery
from crm_reporting.event_log.tables import EVENTS


class EventLogRepository:
    async def append(self, analytics: Analytics, rows: list[Row]) -> None:
        await analytics.insert(EVENTS, rows)

    async def count(self, analytics: Analytics, tenant_id: uuid.UUID, event_type: str | None = None) -> int:
        """Distinct events of the tenant (FINAL: a redelivered event counts once)."""
        query = TenantQuery(EVENTS, tenant_id, final=True).select("count() AS events")
        if event_type is not None:
            query = query.where("type = {event_type:String}", event_type=event_type)
        rows = await analytics.query(query)
        return int(rows[0]["events"]) if rows else 0


event_log_repository = EventLogRepository()
