"""Invitations and user import: `users.status` (`active` / `invited`), `invitations` (one per invited
user; only the SHA-256 of the current link token is stored), `user_imports` and their validated
`user_import_rows` (a row's `user_id` is set in the transaction that created the user, so a resumed
import never creates anyone twice).

Revision ID: it0006
Revises: it0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "it0006"
down_revision: str | None = "it0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    op.add_column("users", sa.Column("status", sa.Text, nullable=False, server_default="active"), schema=schema)
    op.create_check_constraint("ck_users_status", "users", "status in ('active', 'invited')", schema=schema)
    op.create_table(
        "user_imports",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_by_kind", sa.Text, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status in ('queued', 'running', 'succeeded', 'failed')", name="ck_user_imports_status"),
        schema=T,
    )
    op.create_table(
        "user_import_rows",
        sa.Column("import_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.user_imports.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("roles", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("team_id", pg.UUID(as_uuid=True)),
        # Set in the transaction that created the user (or the error that skipped the row).
        sa.Column("user_id", pg.UUID(as_uuid=True)),
        sa.Column("error_code", sa.Text),
        schema=T,
    )
    op.create_table(
        "invitations",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.users.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("invited_by", sa.Text, nullable=False, server_default=""),
        sa.Column("import_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.user_imports.id", ondelete="SET NULL")),
        sa.Column("send_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("state in ('pending', 'accepted', 'revoked')", name="ck_invitations_state"),
        schema=T,
    )
    op.create_index("ix_invitations_state", "invitations", ["state", "id"], schema=T)


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("invitations", schema=T)
    op.drop_table("user_import_rows", schema=T)
    op.drop_table("user_imports", schema=T)
    op.drop_constraint("ck_users_status", "users", schema=schema)
    op.drop_column("users", "status", schema=schema)
