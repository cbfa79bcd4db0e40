"""Report exports (crm_reporting/reports/exports.py): one row per export job and its file in parts.

Revision ID: r0160
Revises: r0150
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "r0160"
down_revision: str | None = "r0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "report_exports",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        # The requester ("client:<id>" for a client token): only they see the export.
        sa.Column("owner", sa.Text, nullable=False),
        # A snapshot of the requester's access (scopes, data scope, field policies), never the token.
        sa.Column("access", pg.JSONB, nullable=False),
        sa.Column("report_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("view_filters", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("rows_done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("file_name", sa.Text, nullable=False, server_default=""),
        sa.Column("content_type", sa.Text, nullable=False, server_default=""),
        sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("parts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("ip", sa.Text, nullable=False, server_default=""),
        sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("format IN ('csv', 'rows_csv', 'xlsx', 'pdf')", name="report_exports_format"),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed', 'expired')",
                           name="report_exports_status"),
        schema=T,
    )
    op.create_index("report_exports_owner", "report_exports", ["owner", "created_at"], schema=T)
    op.create_table(
        "report_export_parts",
        sa.Column("export_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey(f"{T}.report_exports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("report_export_parts", schema=T)
    op.drop_table("report_exports", schema=T)
