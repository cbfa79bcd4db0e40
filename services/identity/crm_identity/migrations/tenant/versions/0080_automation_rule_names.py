"""The names of followups' automation rules (from `automation_rule.fired`), so the audit log names
the rule behind an automatic status or tag change (crm_identity/audit/automation.py).

Revision ID: it0080
Revises: it0070
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT as T

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


def downgrade() -> None:
    op.drop_table("automation_rule_names", schema=T)
