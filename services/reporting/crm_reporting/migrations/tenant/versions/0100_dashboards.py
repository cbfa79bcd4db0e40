"""Dashboard layouts (a user's own, and the tenant default an admin publishes) and the tenant's
customer-value segment rules (crm_reporting/dashboards/layouts.py, crm_reporting/value/rules.py).

Revision ID: r0100
Revises: r0002
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "r0100"
down_revision: str | None = "r0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "dashboard_layouts",
        # "user:<user id>" for a user's own layout, "tenant" for the published default.
        sa.Column("owner", sa.Text, primary_key=True),
        # [{"panel": "kpis", "options": {"range": "12m", ...}}, ...] in display order.
        sa.Column("items", pg.JSONB, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        schema=T,
    )
    op.create_table(
        "value_rules",
        # One row: the tenant's segment thresholds (JSON), absent until an admin changes the defaults.
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("rules", pg.JSONB, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("value_rules", schema=T)
    op.drop_table("dashboard_layouts", schema=T)
