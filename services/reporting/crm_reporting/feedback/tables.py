"""Customer feedback, projected from followups' `crm.feedback.created` (docs/reporting.md,
"Satisfaction panels")."""

from __future__ import annotations

from crm_reporting.analytics.tables import Column, TenantTable

# One row per feedback; feedback is not changed after it is logged, so a redelivered event collapses
# into the same (tenant_id, feedback_id) row. `customer_id` lets customer erasure delete the rows and
# the audience (data scope, object) narrow them. `rating` 0 and `nps_score` -1 mean "not given";
# `sentiment` is empty for feedback without text.
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
