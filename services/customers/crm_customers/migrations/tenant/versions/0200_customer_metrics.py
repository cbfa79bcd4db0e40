"""Value metrics per customer (docs/customers.md, "Value metrics"): spend in the last 12 months per
currency and orders in the last 30 days, kept in the order write's transaction and refreshed for
the sliding windows by a scheduled job, indexed by value so a segment's metric condition is an
index range instead of an aggregate over every order of the year. Backfilled from the orders.

Revision ID: c0200
Revises: c0190
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0200"
down_revision: str | None = "c0190"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As crm_customers/metrics/repository.py counts them (kept literal: a migration does not change).
COUNTED = "kind = 'order' AND status IN ('confirmed', 'paid')"


def upgrade() -> None:
    schema = current_schema()
    op.create_table(
        "customer_spend_12m",
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("amount", sa.Numeric(20, 4), nullable=False),
        sa.Column("stale_from", sa.Date, nullable=False),
        schema=schema,
    )
    op.create_index("ix_customer_spend_12m_value", "customer_spend_12m", ["currency", "amount", "customer_id"],
                    schema=schema)
    op.create_index("ix_customer_spend_12m_stale", "customer_spend_12m", ["stale_from"], schema=schema)
    op.create_table(
        "customer_orders_30d",
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("stale_from", sa.Date, nullable=False),
        schema=schema,
    )
    op.create_index("ix_customer_orders_30d_value", "customer_orders_30d", ["orders", "customer_id"], schema=schema)
    op.create_index("ix_customer_orders_30d_stale", "customer_orders_30d", ["stale_from"], schema=schema)
    op.execute(f"""
        INSERT INTO "{schema}".customer_spend_12m (customer_id, currency, amount, stale_from)
        SELECT customer_id, currency, sum(amount), min(ordered_on) + 365 FROM "{schema}".orders
        WHERE {COUNTED} AND ordered_on > current_date - 365 GROUP BY customer_id, currency""")
    op.execute(f"""
        INSERT INTO "{schema}".customer_orders_30d (customer_id, orders, stale_from)
        SELECT customer_id, count(*), min(ordered_on) + 30 FROM "{schema}".orders
        WHERE {COUNTED} AND ordered_on > current_date - 30 GROUP BY customer_id""")


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("customer_orders_30d", schema=schema)
    op.drop_table("customer_spend_12m", schema=schema)
