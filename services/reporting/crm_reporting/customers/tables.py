"""Current state of each customer, projected from crm.customer.* events."""

from __future__ import annotations

from crm_reporting.analytics.tables import Column, TenantTable

# One row per customer version; ReplacingMergeTree(version) keeps the highest version of each
# (tenant_id, customer_id), so a redelivered or late, older event never wins. Reads use FINAL
# so rows not yet merged are collapsed before anything is counted.
CUSTOMERS = TenantTable(
    name="customers",
    columns=(
        Column("tenant_id", "UUID"),
        Column("customer_id", "UUID"),
        Column("version", "UInt64"),
        Column("type", "LowCardinality(String)"),
        Column("industry", "LowCardinality(String)"),
        Column("region", "LowCardinality(String)"),
        Column("status", "LowCardinality(String)"),
        Column("owner_id", "String"),
        Column("created_at", "DateTime64(6, 'UTC')"),
        Column("updated_at", "DateTime64(6, 'UTC')"),
        Column("deleted", "UInt8"),
        # The event this version came from, to trace a number back to its source.
        Column("event_id", "String"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by=("tenant_id", "customer_id"),
)
