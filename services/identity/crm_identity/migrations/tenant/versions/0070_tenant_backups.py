"""A tenant admin's backups (docs/tenancy.md#backups-for-the-tenant-admin): one row per backup with
its progress, and the exported JSON-lines files stored in pages until the archive expires. Neither
table is part of a backup (crm_platform/offboarding.py `SKIPPED_TABLES`).

Revision ID: it0070
Revises: it0060
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT as T

revision: str = "it0070"
down_revision: str | None = "it0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenant_backups",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False),
        sa.Column("requested_by_kind", sa.Text, nullable=False),
        sa.Column("progress_done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("progress_total", sa.BigInteger, nullable=False, server_default="0"),
        # Finished files: [{"service", "table", "path", "rows", "sha256"}], in manifest order.
        sa.Column("files", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        schema=T,
    )
    op.create_index("ix_tenant_backups_created", "tenant_backups", [sa.text("created_at DESC")], schema=T)
    op.create_table(
        "tenant_backup_pages",
        sa.Column("backup_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.tenant_backups.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("path", sa.Text, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("tenant_backup_pages", schema=T)
    op.drop_table("tenant_backups", schema=T)
