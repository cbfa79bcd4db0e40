"""Reminders: in-app notifications, each user's channels, and what followups knows of a user to write
to them (email, language, zone, name: from identity's user events, on `user_teams`).

Revision ID: fu0111
Revises: fu0110
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "fu0111"
down_revision: str | None = "fu0110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    for name in ("email", "display_name", "locale", "time_zone"):
        op.add_column("user_teams", sa.Column(name, sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("user_teams", sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
                  schema=schema)
    op.create_table(
        "notifications",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("task_id", pg.UUID(as_uuid=True)),
        sa.Column("customer_id", pg.UUID(as_uuid=True)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        schema=T,
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "created_at", "id"], schema=T)
    # The bell's count: a user's unread ones.
    op.create_index("ix_notifications_unread", "notifications", ["user_id"], schema=T,
                    postgresql_where=sa.text("read_at IS NULL"))
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("in_app", sa.Boolean, nullable=False),
        sa.Column("email", sa.Boolean, nullable=False),
        sa.Column("digest", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("notification_preferences", schema=T)
    op.drop_table("notifications", schema=T)
    for name in ("disabled", "time_zone", "locale", "display_name", "email"):
        op.drop_column("user_teams", name, schema=schema)
