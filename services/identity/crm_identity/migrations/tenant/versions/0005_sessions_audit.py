"""Sign-in sessions (what a user sees of their refresh-token families: client, created, last used,
ip, user agent) and dropping it0002's `security_events` (unused since it0004: sign-in security events
are written to `audit_events`; its old rows are not copied, they predate the audit log).

Revision ID: it0005
Revises: it0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "it0005"
down_revision: str | None = "it0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    # One row per refresh-token family (control.refresh_families.id); no foreign key across the
    # schemas, so erasing a tenant (DROP SCHEMA) and its control rows stay independent.
    op.create_table(
        "sign_in_sessions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("ip", sa.Text, nullable=False, server_default=""),
        sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
        schema=T,
    )
    op.create_index("ix_sign_in_sessions_user", "sign_in_sessions", ["user_id", sa.text("last_used_at DESC")],
                    schema=T)
    op.drop_table("security_events", schema=T)


def downgrade() -> None:
    op.create_table(
        "security_events",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True)),
        sa.Column("email", sa.Text),
        sa.Column("detail", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema=T,
    )
    op.create_index("ix_security_events_user_at", "security_events", ["user_id", "at"], schema=T)
    op.drop_table("sign_in_sessions", schema=T)
