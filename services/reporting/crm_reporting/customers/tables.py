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
        # Added for the dashboards (issue 11); `ensure_schema` adds them to an existing table.
        Column("name", "String"),
        Column("code", "String"),
        Column("source", "LowCardinality(String)"),
        # The first segment of the region path (`华北` of `华北/北京`): the region panel's slice, which
        # the list's `region` prefix filter opens exactly.
        Column("region_top", "LowCardinality(String)"),
        # The funnel's cohort day: the customer's first contact date, or the day it was created.
        Column("first_contact_on", "Date32"),
        # As the customer holds it (NULL when unset): what the list's first_contact_* filters test.
        Column("first_contact_date", "Nullable(Date32)"),
        # Custom field values as text (a number as written, a multi select joined by commas), by key:
        # the report builder's `cf.<key>` dimensions, filters and (numbers) measures (issue 15).
        Column("custom", "Map(String, String)"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by=("tenant_id", "customer_id"),
)

# One row per status a customer entered (its creation, and every `crm.customer.updated` whose
# `changed_fields` names `status`): the status history the funnel and "won this quarter" read, so
# they count what happened in a period rather than today's status. Keyed by the customer's version,
# so a redelivered event collapses into its first copy.
CUSTOMER_STATUS_CHANGES = TenantTable(
    name="customer_status_changes",
    columns=(
        Column("tenant_id", "UUID"),
        Column("customer_id", "UUID"),
        Column("version", "UInt64"),
        Column("status", "LowCardinality(String)"),
        Column("changed_at", "DateTime64(6, 'UTC')"),
        Column("event_id", "String"),
    ),
    engine="ReplacingMergeTree",
    order_by=("tenant_id", "customer_id", "version"),
)

# Which tags a customer carries, from `crm.tag.applied` / `crm.tag.removed`: the latest change per
# (tag, customer) wins by tagging's `change_seq`, so a late apply cannot bring back a removed tag.
# The dashboards' `object=tag:<id>` reads it.
CUSTOMER_TAGS = TenantTable(
    name="customer_tags",
    columns=(
        Column("tenant_id", "UUID"),
        Column("tag_id", "UUID"),
        Column("customer_id", "UUID"),
        Column("change_seq", "UInt64"),
        Column("removed", "UInt8"),
        Column("event_id", "String"),
        # The tag's name when this change was made (the report builder's tag dimension labels).
        Column("tag_name", "String"),
    ),
    engine="ReplacingMergeTree(change_seq)",
    order_by=("tenant_id", "tag_id", "customer_id"),
)
