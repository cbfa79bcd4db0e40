"""Customer feedback, projected from followups' `crm.feedback.created` and `crm.feedback.moved`
(docs/reporting.md, "Satisfaction panels")."""

from __future__ import annotations

from crm_reporting.analytics.tables import Column, TenantTable

# One row per feedback. Its only change after it is logged is a merge moving it to another customer
# (`crm.feedback.moved`, emitted after `created` from the same outbox and consumed in stream order):
# ReplacingMergeTree without a version keeps the LAST inserted row of a (tenant_id, feedback_id), and
# FINAL reads that one; a redelivered batch is re-inserted in its order, so the move still wins.
# `customer_id` lets customer erasure delete the rows and the audience (data scope, object) narrow
# them. `rating` 0 and `nps_score` -1 mean "not given"; `sentiment` is empty for feedback without text.
FEEDBACK = TenantTable(
    name="feedback",
    columns=(
        Column("tenant_id", "UUID"),
        Column("feedback_id", "UUID"),
        Column("customer_id", "UUID"),
        Column("channel", "LowCardinality(String)"),
        Column("category", "LowCardinality(String)"),
        Column("rating", "Int8"),
        Column("nps_score", "Int8"),
        Column("sentiment", "LowCardinality(String)"),
        Column("sentiment_score", "Float64"),
        Column("survey_kind", "LowCardinality(String)"),
        Column("received_at", "DateTime64(6, 'UTC')"),
        Column("event_id", "String"),
    ),
    engine="ReplacingMergeTree",
    order_by=("tenant_id", "feedback_id"),
)
