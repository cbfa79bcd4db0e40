"""The customer's value segment as reporting publishes it (`crm.value_segment.changed`,
crm_customers/value_segments): a column and its version on the customer row, and an index for
segments' `value_segments` part (docs/tagging.md, "Segments").

Adding a column with a constant default rewrites nothing (PostgreSQL 11+); the index holds only
customers in a segment.

Revision ID: c0190
Revises: c0180
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0190"
down_revision: str | None = "c0180"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.add_column("customers", sa.Column("value_segment", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("customers", sa.Column("value_segment_version", sa.BigInteger, nullable=False, server_default="0"),
                  schema=schema)
    op.execute(f'CREATE INDEX ix_customers_value_segment ON "{schema}".customers (value_segment, id) '
               "WHERE value_segment <> ''")


def downgrade() -> None:
    schema = current_schema()
    op.execute(f'DROP INDEX IF EXISTS "{schema}".ix_customers_value_segment')
    op.drop_column("customers", "value_segment_version", schema=schema)
    op.drop_column("customers", "value_segment", schema=schema)
