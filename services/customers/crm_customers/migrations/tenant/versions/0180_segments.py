"""Saved dynamic segments (docs/tagging.md, "Segments"), and the index their spend and order
metrics read: counted orders by date with the customer and amount in the index.

Revision ID: c0180
Revises: c0170
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0180"
down_revision: str | None = "c0170"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.create_table(
        "segments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("visibility", sa.Text, nullable=False),
        sa.Column("definition", pg.JSONB, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("visibility IN ('private', 'shared')", name="ck_segments_visibility"),
        schema=schema,
    )
    op.create_index("ux_segments_owner_name", "segments", ["owner", sa.text("lower(name)")], unique=True,
                    schema=schema)
    # Spend in the last 12 months / orders in the last 30 days: an index-only range scan of the
    # counted orders (kind order) by date.
    op.execute(
        f'CREATE INDEX ix_orders_counted_on ON "{schema}".orders (ordered_on, customer_id) '
        "INCLUDE (amount, currency, status) WHERE kind = 'order'"
    )


def downgrade() -> None:
    schema = current_schema()
    op.execute(f'DROP INDEX IF EXISTS "{schema}".ix_orders_counted_on')
    op.drop_table("segments", schema=schema)
