"""Follow-up records count as interactions in tag rules (docs/tagging.md, "Conditions"): the
latest record's time per customer, one more input of `last_interaction_at`.

Revision ID: tg0171
Revises: tg0132
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "tg0171"
down_revision: str | None = "tg0132"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rule_facts", sa.Column("last_followup_at", sa.DateTime(timezone=True)), schema=current_schema())


def downgrade() -> None:
    op.drop_column("rule_facts", "last_followup_at", schema=current_schema())
