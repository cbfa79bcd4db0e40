"""The raw event log: every CloudEvent the service consumes, one row per event id."""

from __future__ import annotations

from crm_reporting.analytics.tables import Column, TenantTable

# ReplacingMergeTree keyed by event id: a redelivered event collapses into the first copy
# (on merge, and at once for queries reading with FINAL). Partitions are by event time, which
# a redelivery repeats, so both copies always land in the same partition and can collapse.
EVENTS = TenantTable(
    name="events",
    columns=(
        Column("tenant_id", "UUID"),
        Column("event_id", "String"),
        Column("type", "LowCardinality(String)"),
        Column("source", "LowCardinality(String)"),
        Column("subject", "String"),
        Column("time", "DateTime64(6, 'UTC')"),
        # The CloudEvent `data` member, as JSON text (its schema is proto/crm/events/v1).
        Column("data", "String"),
        Column("received_at", "DateTime64(6, 'UTC')", default="now64(6)"),
    ),
    engine="ReplacingMergeTree",
    partition_by="toYYYYMM(time)",
    order_by=("tenant_id", "event_id"),
)
