"""The rule sweep commits in chunks of customers (docs/tagging.md, "The sweep"): each chunk's
transaction records how far the job got, so a restarted job resumes after the last committed
chunk instead of starting over. The row is removed when the sweep finishes.

Revision ID: tg0200
Revises: tg0190
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "tg0200"
down_revision: str | None = "tg0190"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_progress",
        sa.Column("job_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("after_customer", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("done", sa.BigInteger, nullable=False),
        sa.Column("applied", sa.BigInteger, nullable=False),
        sa.Column("removed", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=current_schema(),
    )


def downgrade() -> None:
    op.drop_table("sweep_progress", schema=current_schema())
