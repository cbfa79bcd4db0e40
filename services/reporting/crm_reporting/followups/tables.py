"""Follow-up records and tasks, projected from followups' events (docs/reporting.md, "Follow-ups")."""

from __future__ import annotations

from crm_reporting.analytics.tables import Column, TenantTable

# One row per record version. A record never changes after it is logged; the only later versions
# are a merge moving it to the survivor (and the undo giving it back), which followups does without
# an event of its own, so reporting applies `customer.merged` / `.unmerged` itself (service.py).
# ReplacingMergeTree(version) keeps the highest version of a (tenant_id, record_id): `created` is
# version 0, a move the merge event's time in microseconds, so a redelivered `created` never undoes
# a move. `moved_from` / `merge_id`: the customer the last move took it from and that merge, for the
# undo. `customer_id` lets customer erasure delete the rows and the audience narrow them.
FOLLOWUP_RECORDS = TenantTable(
    name="followup_records",
    columns=(
        Column("tenant_id", "UUID"),
        Column("record_id", "UUID"),
        Column("version", "UInt64"),
        Column("customer_id", "UUID"),
        # The user who followed up (a rep), as a user id text.
        Column("followed_by", "String"),
        Column("method", "LowCardinality(String)"),
        Column("result", "LowCardinality(String)"),
        Column("followed_at", "DateTime64(6, 'UTC')"),
        Column("moved_from", "String"),
        Column("merge_id", "String"),
        Column("event_id", "String"),
        # The method's and result's names in the tenant's dictionaries when the record was logged
        # (the event carries them): what the report builder shows instead of the codes.
        Column("method_en", "String"), Column("method_zh", "String"),
        Column("result_en", "String"), Column("result_zh", "String"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by=("tenant_id", "record_id"),
)

# One row per task version: every task event (`created`, `updated`, `completed`) carries the whole
# task; version is the event's time in microseconds (a redelivered or late older event never wins),
# a merge's move as for records. "Overdue" is read, not stored: status `open` and `due_at` passed.
FOLLOWUP_TASKS = TenantTable(
    name="followup_tasks",
    columns=(
        Column("tenant_id", "UUID"),
        Column("task_id", "UUID"),
        Column("version", "UInt64"),
        Column("customer_id", "UUID"),
        Column("assignee_id", "String"),
        Column("status", "LowCardinality(String)"),
        Column("due_at", "DateTime64(6, 'UTC')"),
        Column("moved_from", "String"),
        Column("merge_id", "String"),
        Column("event_id", "String"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by=("tenant_id", "task_id"),
)

# What happened to a customer when, for "monthly customer activity" (issue 15): `new` (created or
# imported), `won` / `lost` (entered that status, at creation or later, from the status history's
# rows) and `contacted` (a follow-up record). One row per record (`source_id` its id: a merge moves
# it, as the record) or per status-history row (`<customer id>:<version>`: never moved; a merged-away
# customer is deleted and drops out, its undo brings it back). ReplacingMergeTree(version) as the
# records: a redelivered event collapses into its first copy, a move wins over `created`.
CUSTOMER_ACTIVITY = TenantTable(
    name="customer_activity",
    columns=(
        Column("tenant_id", "UUID"),
        Column("activity", "LowCardinality(String)"),
        Column("source_id", "String"),
        Column("version", "UInt64"),
        Column("customer_id", "UUID"),
        Column("happened_at", "DateTime64(6, 'UTC')"),
        Column("moved_from", "String"),
        Column("merge_id", "String"),
        Column("event_id", "String"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by=("tenant_id", "activity", "source_id"),
)
