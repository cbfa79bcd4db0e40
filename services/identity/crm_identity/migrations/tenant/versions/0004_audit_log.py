"""Audit log: the tenant's append-only `audit_events` (sign-ins, MFA, user/role/client changes,
customer reveals, exports). A trigger refuses UPDATE and DELETE, as customers' `reveal_audit` does.

Revision ID: it0004
Revises: it0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "it0004"
down_revision: str | None = "it0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    op.create_table(
        "audit_events",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor", sa.Text, nullable=False, server_default=""),
        sa.Column("actor_kind", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target_type", sa.Text, nullable=False, server_default=""),
        sa.Column("target_id", sa.Text, nullable=False, server_default=""),
        sa.Column("ip", sa.Text, nullable=False, server_default=""),
        sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
        sa.Column("details", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.CheckConstraint("actor_kind in ('user', 'client', 'anonymous', 'system')", name="ck_audit_actor_kind"),
        schema=T,
    )
    op.create_index("ix_audit_events_time", "audit_events", [sa.text("occurred_at DESC"), sa.text("id DESC")],
                    schema=T)
    op.create_index("ix_audit_events_actor", "audit_events", ["actor", sa.text("occurred_at DESC")], schema=T)
    op.create_index("ix_audit_events_target", "audit_events", ["target_id", sa.text("occurred_at DESC")], schema=T)
    # Append-only: UPDATE and DELETE are refused by the database itself (same approach as c0003).
    op.execute(f"""
        CREATE FUNCTION "{schema}".audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only';
        END $$;
    """)
    op.execute(f"""
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON "{schema}".audit_events
        FOR EACH ROW EXECUTE FUNCTION "{schema}".audit_events_append_only();
    """)


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("audit_events", schema=T)
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".audit_events_append_only()')
