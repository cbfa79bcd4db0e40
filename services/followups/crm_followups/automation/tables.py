"""Outcome automation tables as SQL expressions (migration fu0120)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.db import TENANT

automation_rules = sa.Table(
    "automation_rules",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("trigger_value", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("tag_id", pg.UUID(as_uuid=True)),
    sa.Column("status", sa.Text, nullable=False, server_default=""),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_by", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

automation_runs = sa.Table(
    "automation_runs",
    metadata,
    sa.Column("rule_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("fired_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)
