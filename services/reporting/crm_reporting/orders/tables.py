"""Orders and contracts, projected from `crm.order.recorded` events (customers service)."""

from __future__ import annotations

from crm_reporting.analytics.tables import Column, TenantTable

# One row per order version; ReplacingMergeTree(version) keeps the highest version of each
# (tenant_id, order_id), so a redelivered or late, older event never wins (a status change, an
# amount correction and a merge's move to the surviving customer each raise the version). Reads
# use FINAL. `customer_id` lets customer erasure delete a customer's rows (erasure.py).
ORDERS = TenantTable(
    name="orders",
    columns=(
        Column("tenant_id", "UUID"),
        Column("order_id", "UUID"),
        Column("version", "UInt64"),
        Column("external_id", "String"),
        Column("customer_id", "UUID"),
        Column("kind", "LowCardinality(String)"),
        # Exact decimals (up to 4 places, as the customers service stores them).
        Column("amount", "Decimal(38, 4)"),
        Column("currency", "LowCardinality(String)"),
        Column("ordered_on", "Date32"),
        Column("status", "LowCardinality(String)"),
        Column("event_id", "String"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by=("tenant_id", "order_id"),
)
