"""Platform control tables: tenant registry, outbox, inbox, jobs.

Revision ID: p0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "p0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("schema_name", sa.Text, nullable=False, unique=True),
        sa.Column("provisioned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="control",
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("headers", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        schema="control",
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["seq"],
        schema="control",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="control",
    )
    op.create_table(
        "jobs",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True)),
        sa.Column("payload", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default="5"),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("locked_by", sa.Text),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("progress_done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("progress_total", sa.BigInteger),
        sa.Column("result", pg.JSONB),
        sa.Column("last_error", sa.Text),
        sa.Column("dedupe_key", sa.Text, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="control",
    )
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["kind", "run_at"],
        schema="control",
        postgresql_where=sa.text("status = 'queued'"),
    )


def downgrade() -> None:
    for table in ("jobs", "inbox", "outbox", "tenants"):
        op.drop_table(table, schema="control")
