"""Customer merges: moved tasks and their undo.

`merge_log` has one row per merge this service applied (or saw undone first), so a redelivered or
late `customer.merged` never moves tasks again after the undo; `merge_task_moves` names every task
re-pointed to the survivor and the customer it belonged to.

Revision ID: fu0002
Revises: fu0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "fu0002"
down_revision: str | None = "fu0001"
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
        "merge_task_moves",
        sa.Column("merge_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("task_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("merge_id", "task_id", name="pk_merge_task_moves"),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("merge_task_moves", schema=T)
    op.drop_table("merge_log", schema=T)
