"""Customer exports: one row per export (its filters, the requester's access snapshot, progress,
expiry) and the file's parts (`customer_export_parts`; rows as CSV text per page while running, so
a re-run job resumes after the last written page; for XLSX the finished workbook's parts).

Revision ID: c0010
Revises: c0009
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "c0010"
down_revision: str | None = "c0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "customer_exports",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        # Principal.actor of the requester: only they can read the export.
        sa.Column("owner", sa.Text, nullable=False),
        # What the job needs to act as the requester (scopes, data scope, teams, field policies).
        sa.Column("access", pg.JSONB, nullable=False),
        sa.Column("filters", pg.JSONB, nullable=False),
        sa.Column("order_by", sa.Text, nullable=False),
        sa.Column("columns", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("rows_done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_total", sa.BigInteger, nullable=False, server_default="0"),
        # Resume point: the list's page token after the last written page, and that part's number.
        sa.Column("next_page_token", sa.Text, nullable=False, server_default=""),
        sa.Column("parts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("file_parts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("ip", sa.Text, nullable=False, server_default=""),
        sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema=T,
    )
    op.create_index("ix_customer_exports_owner", "customer_exports", ["owner", sa.text("created_at DESC")],
                    schema=T)
    op.create_table(
        "customer_export_parts",
        sa.Column("export_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.customer_exports.id", ondelete="CASCADE",
                                name="fk_customer_export_parts_export_id"), primary_key=True),
        # "rows" (CSV lines of one page) or "file" (a slice of the finished XLSX).
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("customer_export_parts", schema=T)
    op.drop_table("customer_exports", schema=T)
