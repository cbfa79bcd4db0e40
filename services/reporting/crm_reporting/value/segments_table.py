"""The value segment reporting last published for each customer (`crm.value_segment.changed`),
projected into ClickHouse like every other event, so a segment object with a value-segment part
counts exactly the customers customers' list column and tagging's rule facts hold
(docs/reporting.md, "Value segment changes")."""

from __future__ import annotations

import logging
import uuid

from crm_platform import telemetry
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Row
from crm_reporting.analytics.tables import Column, TenantTable

log = logging.getLogger(__name__)

EVENT_TYPE = "crm.value_segment.changed"

# Latest `version` per customer wins (the per-customer change number of the event); `segment` is
# empty when the customer is in none.
CUSTOMER_VALUE_SEGMENTS = TenantTable(
    name="customer_value_segments",
    columns=(
        Column("tenant_id", "UUID"),
        Column("customer_id", "UUID"),
        Column("segment", "LowCardinality(String)"),
        Column("version", "UInt64"),
        Column("event_id", "String"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by=("tenant_id", "customer_id"),
)


def value_segment_rows(event: CloudEvent) -> list[tuple[TenantTable, Row]]:
    if event.type != EVENT_TYPE:
        return []
    rows: list[tuple[TenantTable, Row]] = []
    for change in event.data.get("changes") or ():
        try:
            rows.append((CUSTOMER_VALUE_SEGMENTS, {
                "tenant_id": uuid.UUID(event.tenantid), "customer_id": uuid.UUID(str(change["customer_id"])),
                "segment": str(change.get("segment") or ""), "version": int(change.get("version") or 0),
                "event_id": event.id,
            }))
        except (KeyError, ValueError, TypeError):
            log.warning("value segment change not projected", extra=telemetry.log_fields(event_id=event.id))
    return rows
