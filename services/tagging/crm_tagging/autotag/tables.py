"""Auto-tag rule tables as SQL expressions (created by migrations/tenant)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT
from crm_tagging.tag.tables import metadata, tags

tag_rules = sa.Table(
    "tag_rules",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", pg.UUID(as_uuid=True), sa.ForeignKey(tags.c.id), nullable=False),
    # The first version's single condition (kept for old rows; `conditions` holds it too).
    sa.Column("field", sa.Text),
    sa.Column("operator", sa.Text),
    sa.Column("value", sa.Text),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # Migration tg0131.
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("conditions", pg.JSONB, nullable=False),
    sa.Column("action", sa.Text, nullable=False, server_default="add"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("last_run_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

# Tagging's projection of each customer for rules (migration tg0131, autotag/facts.py).
rule_facts = sa.Table(
    "rule_facts",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("fields", pg.JSONB, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_changed_at", sa.DateTime(timezone=True)),
    sa.Column("last_order_on", sa.Date),
    sa.Column("max_order_amount", sa.Numeric(18, 2)),
    sa.Column("last_followup_at", sa.DateTime(timezone=True)),  # the latest follow-up record (tg0171)
    sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=False),
    # Reporting's value segment ("" none) and its per-customer version (crm.value_segment.changed, tg0190).
    sa.Column("value_segment", sa.Text, nullable=False, server_default=""),
    sa.Column("value_segment_version", sa.BigInteger, nullable=False, server_default="0"),
    schema=TENANT,
)

rule_orders = sa.Table(
    "rule_orders",
    metadata,
    sa.Column("order_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("ordered_on", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False, server_default="order"),  # migration tg0180
    schema=TENANT,
)

# How far a chunked sweep job got (migration tg0200, autotag/sweeps.py).
sweep_progress = sa.Table(
    "sweep_progress",
    metadata,
    sa.Column("job_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("after_customer", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("done", sa.BigInteger, nullable=False),
    sa.Column("applied", sa.BigInteger, nullable=False),
    sa.Column("removed", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    schema=TENANT,
)
