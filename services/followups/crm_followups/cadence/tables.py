"""Cadence rule tables as SQL expressions (created by migrations/tenant)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.db import TENANT

cadence_rules = sa.Table(
    "cadence_rules",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("due_in_days", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # Migration fu0120: recurring rules, enabling, escalation, soft deletion.
    sa.Column("rrule", sa.Text, nullable=False, server_default=""),
    sa.Column("time_zone", sa.Text, nullable=False, server_default=""),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("escalate_after_days", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

cadence_enrollments = sa.Table(
    "cadence_enrollments",
    metadata,
    sa.Column("rule_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("since", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)
