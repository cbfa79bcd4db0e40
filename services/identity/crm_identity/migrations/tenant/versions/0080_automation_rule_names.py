"""Outcome automation in the audit log (crm_identity/audit/automation.py): the names of followups'
automation rules (from `automation_rule.fired`), so the log names the rule behind an automatic
status or tag change, and the actor kind `automation` (`automation:<rule id>`).

Revision ID: it0080
Revises: it0070
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT as T
from crm_platform.migrations import current_schema

revision: str = "it0080"
down_revision: str | None = "it0070"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "automation_rule_names",
        sa.Column("rule_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    schema = current_schema()  # ALTER TABLE is not translated like CREATE TABLE
    op.drop_constraint("ck_audit_actor_kind", "audit_events", schema=schema, type_="check")
    op.create_check_constraint("ck_audit_actor_kind", "audit_events",
                               "actor_kind in ('user', 'client', 'anonymous', 'system', 'automation')", schema=schema)


def downgrade() -> None:
    # The log is append-only: entries of kind `automation` stay, so the wider check stays too.
    op.drop_table("automation_rule_names", schema=T)
