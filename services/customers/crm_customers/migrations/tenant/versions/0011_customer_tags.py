"""Customers' projection of tagging's customer tags (the list's tag filter).

`customer_tags` keeps, per customer and tag, the newest change tagging announced (`change_seq` of
TagApplied/TagRemoved): a removal keeps its row, marked `removed`, so an older apply delivered
late cannot bring the tag back. The same transaction copies the customer's live tags into
`customers.tag_ids` (sorted ids, GIN-indexed), which the list filters on: `tag_ids @> ARRAY[...]`
is one condition the planner sizes from the column's element statistics and can combine with the
other indexes of a filtered page (a per-row EXISTS on `customer_tags` could only be probed while
walking one index: 130 ms p99 for a manager's tag + status page at 1,000,000 customers,
docs/benchmarks.md).

Revision ID: c0011
Revises: c0010
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0011"
down_revision: str | None = "c0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "customer_tags",
        sa.Column("customer_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.customers.id", ondelete="CASCADE",
                                name="fk_customer_tags_customer_id_customers"),
                  nullable=False),
        sa.Column("tag_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("customer_id", "tag_id", name="pk_customer_tags"),
        schema=T,
    )
    schema = current_schema()
    op.execute(f"ALTER TABLE \"{schema}\".customers ADD COLUMN tag_ids uuid[] NOT NULL DEFAULT '{{}}'")
    op.execute(f'CREATE INDEX ix_customers_tag_ids ON "{schema}".customers USING gin (tag_ids)')


def downgrade() -> None:
    op.execute(f'ALTER TABLE "{current_schema()}".customers DROP COLUMN tag_ids')
    op.drop_table("customer_tags", schema=T)
