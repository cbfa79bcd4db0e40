"""Cadences (one-shot and recurring, enabled, escalation), cancelled tasks, SLA/escalation columns,
the users' roles (who a team's manager is), and outcome automation rules with their runs.

Revision ID: fu0120
Revises: fu0111
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "fu0120"
down_revision: str | None = "fu0111"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    # A recurring rule has an RRULE (evaluated in `time_zone`); a one-shot one has none.
    op.add_column("cadence_rules", sa.Column("rrule", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("cadence_rules", sa.Column("time_zone", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("cadence_rules", sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
                  schema=schema)
    # Days overdue after which the assignee's manager is told; 0 = never.
    op.add_column("cadence_rules", sa.Column("escalate_after_days", sa.Integer, nullable=False,
                                             server_default="0"), schema=schema)
    op.add_column("cadence_rules", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                             server_default=sa.func.now()), schema=schema)
    # Deleted rules stay (their tasks keep counting in the SLA report) but are never listed or fired.
    op.add_column("cadence_rules", sa.Column("deleted_at", sa.DateTime(timezone=True)), schema=schema)
    op.create_check_constraint("ck_cadence_rules_escalate", "cadence_rules",
                               "escalate_after_days BETWEEN 0 AND 365", schema=schema)
    # Customers enrolled in a recurring rule (they carry its tag); the schedule key names the pair.
    op.create_table(
        "cadence_enrollments",
        sa.Column("rule_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    # A task's tag was removed: `cancelled` (not counted in the SLA, never reminded).
    op.drop_constraint("ck_tasks_status", "tasks", schema=schema)
    op.create_check_constraint("ck_tasks_status", "tasks", "status IN ('open', 'done', 'cancelled')", schema=schema)
    op.add_column("tasks", sa.Column("escalated_at", sa.DateTime(timezone=True)), schema=schema)
    op.add_column("tasks", sa.Column("cancelled_at", sa.DateTime(timezone=True)), schema=schema)
    op.create_index("ix_tasks_cadence", "tasks", ["cadence_rule_id", "due_at"], schema=T,
                    postgresql_where=sa.text("cadence_rule_id IS NOT NULL"))
    op.add_column("user_teams", sa.Column("roles", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
                  schema=schema)
    op.create_table(
        "automation_rules",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        # record_result | order_recorded | tag_applied, with its value (a result code, an order kind,
        # a tag id).
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("trigger_value", sa.Text, nullable=False),
        # add_tag (tag_id) | set_status (status, reason)
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("tag_id", pg.UUID(as_uuid=True)),
        sa.Column("status", sa.Text, nullable=False, server_default=""),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_by", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("trigger IN ('record_result', 'order_recorded', 'tag_applied')",
                           name="ck_automation_rules_trigger"),
        sa.CheckConstraint("action IN ('add_tag', 'set_status')", name="ck_automation_rules_action"),
        schema=T,
    )
    op.create_index("ix_automation_rules_trigger", "automation_rules", ["trigger", "trigger_value"], schema=T)
    # One run per (rule, causing event): a redelivered event fires nothing twice.
    op.create_table(
        "automation_runs",
        sa.Column("rule_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("automation_runs", schema=schema)
    op.drop_table("automation_rules", schema=schema)
    op.drop_column("user_teams", "roles", schema=schema)
    op.drop_index("ix_tasks_cadence", "tasks", schema=schema)
    op.drop_column("tasks", "cancelled_at", schema=schema)
    op.drop_column("tasks", "escalated_at", schema=schema)
    op.drop_constraint("ck_tasks_status", "tasks", schema=schema)
    op.create_check_constraint("ck_tasks_status", "tasks", "status IN ('open', 'done')", schema=schema)
    op.drop_table("cadence_enrollments", schema=schema)
    op.drop_constraint("ck_cadence_rules_escalate", "cadence_rules", schema=schema)
    for name in ("deleted_at", "updated_at", "escalate_after_days", "enabled", "time_zone", "rrule"):
        op.drop_column("cadence_rules", name, schema=schema)
