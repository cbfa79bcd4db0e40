"""The value segment reporting last published per customer (crm_reporting/value/segment_changes.py):
what `crm.value_segment.changed` is diffed against, so a change is announced once.

Revision ID: r0190
Revises: r0180
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "r0190"
down_revision: str | None = "r0180"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "value_segments",
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("segment", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("value_segments", schema=T)
