"""Follow-up task table as SQL expressions (created by migrations/tenant)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("assignee_id", pg.UUID(as_uuid=True)),
    sa.Column("cadence_rule_id", pg.UUID(as_uuid=True)),
    sa.Column("source_event_id", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # User id, "client:<client id>", or "" for a cadence rule (migration fu0003).
    sa.Column("created_by", sa.Text, nullable=False, server_default=""),
    # Migration fu0110: a method code, what to do, when and by which record it was completed, and
    # the record whose next follow-up time created it.
    sa.Column("method", sa.Text, nullable=False, server_default=""),
    sa.Column("content", sa.Text, nullable=False, server_default=""),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("record_id", pg.UUID(as_uuid=True)),
    sa.Column("source_record_id", pg.UUID(as_uuid=True)),
    # Migration fu0120: when the manager was told (crm_followups/cadence/escalation.py), and when the
    # task was cancelled (its cadence tag was removed; status "cancelled").
    sa.Column("escalated_at", sa.DateTime(timezone=True)),
    sa.Column("cancelled_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)
