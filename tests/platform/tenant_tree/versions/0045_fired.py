"""What the scheduler tests' handlers write: one row per firing, with no unique key, so a firing
that happened twice shows as two rows.

Revision ID: t0045
Revises: t0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "t0045"
down_revision: str | None = "t0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fired",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("schedule_key", sa.Text, nullable=False),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_by", sa.Text, nullable=False, server_default=""),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.clock_timestamp()),
        schema="tenant",
    )


def downgrade() -> None:
    op.drop_table("fired", schema="tenant")
