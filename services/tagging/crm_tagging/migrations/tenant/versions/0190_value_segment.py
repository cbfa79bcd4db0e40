"""Rules on the value segment (docs/tagging.md, "Conditions"): reporting's per-customer value
segment from `crm.value_segment.changed`, kept on the rule facts with its per-customer version
(a newer change replaces an older one).

Revision ID: tg0190
Revises: tg0180
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "tg0190"
down_revision: str | None = "tg0180"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.add_column("rule_facts", sa.Column("value_segment", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("rule_facts", sa.Column("value_segment_version", sa.BigInteger, nullable=False,
                                          server_default="0"), schema=schema)


def downgrade() -> None:
    schema = current_schema()
    op.drop_column("rule_facts", "value_segment_version", schema=schema)
    op.drop_column("rule_facts", "value_segment", schema=schema)
