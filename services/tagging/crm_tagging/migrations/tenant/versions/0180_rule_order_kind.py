"""Rules on spend in the last 12 months (docs/tagging.md, "Conditions"): the projected orders keep
their kind, so only orders (not contracts) in status confirmed or paid count as spend, as customers'
`annual_spend` and reporting's value figures count them. Orders projected before this are taken as
orders (`kind` default); a contract's next `order.recorded` corrects its row.

Revision ID: tg0180
Revises: tg0171
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "tg0180"
down_revision: str | None = "tg0171"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rule_orders", sa.Column("kind", sa.Text, nullable=False, server_default="order"),
                  schema=current_schema())


def downgrade() -> None:
    op.drop_column("rule_orders", "kind", schema=current_schema())
