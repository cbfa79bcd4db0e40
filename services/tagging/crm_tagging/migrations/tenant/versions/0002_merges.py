"""Customer merges: moved tags and their undo.

`merge_log` has one row per merge this service applied (or saw undone first), so a redelivered or
late `customer.merged` never moves tags again after the undo. `merge_tag_moves` keeps each tag a
merged customer carried: `moved` (re-pointed to the survivor) or not (the survivor already had it,
so the merged customer's row was dropped), with the row's original values for the undo.

Revision ID: tg0002
Revises: tg0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "tg0002"
down_revision: str | None = "tg0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "merge_log",
        sa.Column("merge_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("survivor_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True)),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        schema=T,
    )
    op.create_table(
        "merge_tag_moves",
        sa.Column("merge_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tag_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("moved", sa.Boolean, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("rule_id", pg.UUID(as_uuid=True)),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("merge_id", "customer_id", "tag_id", name="pk_merge_tag_moves"),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("merge_tag_moves", schema=T)
    op.drop_table("merge_log", schema=T)
