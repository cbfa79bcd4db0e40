"""Orders and contracts from outside systems: one table, upserted by the outside system's id.

Revision ID: c0007
Revises: c0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "c0007"
down_revision: str | None = "c0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        # Up to 4 decimals (ISO 4217 minor units are at most 4: CLF, UYW); checked per currency.
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("ordered_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("items", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.CheckConstraint("kind IN ('order', 'contract')", name="kind"),
        sa.CheckConstraint("amount >= 0", name="amount"),
        sa.UniqueConstraint("external_id", name="uq_orders_external_id"),
        schema=T,
    )
    # A customer's orders by date (customer page, spend figures, merge moves).
    op.create_index("ix_orders_customer_ordered_on", "orders", ["customer_id", "ordered_on"], schema=T)
    # Tenant-wide lists by date.
    op.create_index("ix_orders_ordered_on_id", "orders", ["ordered_on", "id"], schema=T)


def downgrade() -> None:
    op.drop_table("orders", schema=T)
