"""User security: password policy, lockout throttle, first-login change, TOTP MFA, recovery codes,
multi-step sign-ins and security events.

Revision ID: it0002
Revises: it0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "it0002"
down_revision: str | None = "it0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.add_column(
        "users", sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=schema,
    )
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True)), schema=schema)
    op.add_column("users", sa.Column("totp_secret_sealed", sa.LargeBinary), schema=schema)
    op.add_column("users", sa.Column("totp_pending_sealed", sa.LargeBinary), schema=schema)
    op.add_column("users", sa.Column("totp_enabled_at", sa.DateTime(timezone=True)), schema=schema)
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger), schema=schema)
    op.create_table(
        "security_policy",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("min_length", sa.Integer, nullable=False),
        sa.Column("reject_common_passwords", sa.Boolean, nullable=False),
        sa.Column("mfa_required_for_admins", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="ck_security_policy_single_row"),
        schema="tenant",
    )
    op.create_table(
        "login_throttle",
        sa.Column("email", sa.Text, primary_key=True),
        sa.Column("failed_count", sa.Integer, nullable=False),
        sa.Column("lockout_count", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        schema="tenant",
    )
    op.create_table(
        "login_transactions",
        sa.Column("ticket_hash", sa.Text, primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("code_challenge", sa.Text, nullable=False),
        sa.Column("steps", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema="tenant",
    )
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("code_hash", sa.Text, primary_key=True),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        schema="tenant",
    )
    op.create_table(
        "security_events",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True)),
        sa.Column("email", sa.Text),
        sa.Column("detail", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema="tenant",
    )
    op.create_index("ix_security_events_user_at", "security_events", ["user_id", "at"], schema="tenant")


def downgrade() -> None:
    for table in ("security_events", "recovery_codes", "login_transactions", "login_throttle", "security_policy"):
        op.drop_table(table, schema="tenant")
    for column in ("totp_last_step", "totp_enabled_at", "totp_pending_sealed", "totp_secret_sealed",
                   "password_changed_at", "must_change_password"):
        op.drop_column("users", column, schema=current_schema())
