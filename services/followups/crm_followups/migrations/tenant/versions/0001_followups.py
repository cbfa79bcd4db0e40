"""Cadence rules and follow-up tasks.

Revision ID: fu0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "fu0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cadence_rules",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        # A tag in the tagging service's database: no foreign key across services.
        sa.Column("tag_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("due_in_days", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("due_in_days BETWEEN 1 AND 365", name="ck_cadence_rules_due_in_days"),
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="ck_cadence_rules_title_length"),
        schema="tenant",
    )
    op.create_index("ix_cadence_rules_tag_id", "cadence_rules", ["tag_id"], schema="tenant")

    op.create_table(
        "tasks",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("assignee_id", pg.UUID(as_uuid=True)),
        sa.Column("cadence_rule_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.cadence_rules.id", ondelete="SET NULL",
                                name="fk_tasks_cadence_rule_id_cadence_rules")),
        # The event that caused the task (tag.applied), for tasks a cadence rule created.
        sa.Column("source_event_id", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('open', 'done')", name="ck_tasks_status"),
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="ck_tasks_title_length"),
        # One task per (event, rule): a redelivered tag.applied never creates a second task, even
        # past the inbox. One event may match several rules, so the event id alone is not unique.
        # Manual tasks have NULLs here, which never conflict.
        sa.UniqueConstraint("source_event_id", "cadence_rule_id", name="uq_tasks_source_event_id_cadence_rule_id"),
        schema="tenant",
    )
    op.create_index("ix_tasks_due", "tasks", ["due_at", "id"], schema="tenant")
    op.create_index("ix_tasks_customer_due", "tasks", ["customer_id", "due_at", "id"], schema="tenant")


def downgrade() -> None:
    op.drop_table("tasks", schema="tenant")
    op.drop_table("cadence_rules", schema="tenant")
