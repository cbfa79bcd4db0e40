"""Orders and contracts, projected from `crm.order.recorded` events (customers service)."""

from __future__ import annotations

from crm_reporting.analytics.tables import Column, TenantTable

# One row per order version; ReplacingMergeTree(version) keeps the highest version of each
# (tenant_id, order_id), so a redelivered or late, older event never wins (a status change, an
# amount correction and a merge's move to the surviving customer each raise the version). Reads
# use FINAL. `customer_id` lets customer erasure delete a customer's rows (erasure.py).
#
# Partitioned by a hash of the order id (a function of the key, so every version of an order lands in
# the same partition) for what FINAL costs: ClickHouse then collapses versions within each partition
# only, and skips a partition that is one merged part. Order ids are random, so a new part's key range
# spans the whole table and, unpartitioned, FINAL merged all ten million rows on every read (1.3 s of
# CPU against 0.3 s once merged, docs/benchmarks.md). The forced merge below folds a partition into
# one part a minute after its last write, so a read merges at most the few partitions written to in
# that minute.
ORDER_PARTITIONS = 16
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
    partition_by=f"cityHash64(order_id) % {ORDER_PARTITIONS}",
    settings=("min_age_to_force_merge_seconds = 60", "min_age_to_force_merge_on_partition_only = 1"),
)
