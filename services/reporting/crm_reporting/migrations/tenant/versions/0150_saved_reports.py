"""Saved report definitions of the report builder (crm_reporting/reports/service.py).

Revision ID: r0150
Revises: r0100
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "r0150"
down_revision: str | None = "r0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "saved_reports",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        # The validated definition (object, filters, rows, column, measures, sort, top N, chart).
        sa.Column("definition", pg.JSONB, nullable=False),
        # private | team | tenant
        sa.Column("visibility", sa.Text, nullable=False),
        sa.Column("team_id", pg.UUID(as_uuid=True)),
        # A user id, or "client:<id>" for a client token.
        sa.Column("owner_id", sa.Text, nullable=False),
        sa.Column("template", sa.Text, nullable=False, server_default=""),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.CheckConstraint("visibility IN ('private', 'team', 'tenant')", name="saved_reports_visibility"),
        sa.CheckConstraint("(visibility = 'team') = (team_id IS NOT NULL)", name="saved_reports_team"),
        schema=T,
    )
    op.create_index("saved_reports_owner", "saved_reports", ["owner_id"], schema=T)
    op.create_index("saved_reports_team", "saved_reports", ["team_id"], schema=T,
                    postgresql_where=sa.text("team_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_table("saved_reports", schema=T)
