"""Share links, share settings, report subscriptions and their delivery log (crm_reporting/delivery/),
and the recipients' address, name and language on `user_teams` (from identity's user events).

Revision ID: r0180
Revises: r0160
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "r0180"
down_revision: str | None = "r0160"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        # sha256 of the URL token; the token itself is never stored.
        sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
        # {"kind", "id", "panels", "object", "range", "range_from", "range_to", "view_filters"}
        sa.Column("target", pg.JSONB, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        # The sharer's access frozen at creation: {"data_scope", "owners" (null: all), "field_policies",
        # "team_ids"}; the link computes under it, never under the sharer's later access.
        sa.Column("scope_snapshot", pg.JSONB, nullable=False),
        sa.Column("personal_masked", sa.Boolean, nullable=False),
        # argon2id (crm_identity's hasher settings); NULL: no password.
        sa.Column("password_hash", sa.Text),
        sa.Column("created_by", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_by", sa.Text),
        sa.Column("views", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_viewed_at", sa.DateTime(timezone=True)),
        schema=T,
    )
    op.create_index("ix_share_links_created_by", "share_links", ["created_by", "created_at"], schema=T)
    op.create_table(
        "share_settings",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("allow_personal_fields", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        schema=T,
    )
    op.create_table(
        "report_subscriptions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("target", pg.JSONB, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("frequency", sa.Text, nullable=False),
        sa.Column("weekday", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("day_of_month", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("time_of_day", sa.Text, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("rrule", sa.Text, nullable=False),
        sa.Column("created_by", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("frequency IN ('daily', 'weekly', 'monthly')", name="ck_report_subscriptions_frequency"),
        sa.CheckConstraint("format IN ('xlsx', 'pdf')", name="ck_report_subscriptions_format"),
        schema=T,
    )
    op.create_table(
        "subscription_recipients",
        sa.Column("subscription_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey(f"{T}.report_subscriptions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
        schema=T,
    )
    op.create_table(
        "subscription_deliveries",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("subscription_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("recipient_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        # queued (mail in the outbox) | sent | skipped | failed
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("mail_id", pg.UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscription_id", "recipient_id", "occurrence_at",
                            name="uq_subscription_deliveries_occurrence"),
        schema=T,
    )
    op.create_index("ix_subscription_deliveries_subscription", "subscription_deliveries",
                    ["subscription_id", "created_at"], schema=T)
    # Recipients' address, name, language and access for subscriptions (identity's user events).
    for column in (sa.Column("display_name", sa.Text, nullable=False, server_default=""),
                   sa.Column("email", sa.Text, nullable=False, server_default=""),
                   sa.Column("locale", sa.Text, nullable=False, server_default=""),
                   sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
                   # The user's effective access from identity (events' access_* fields): a
                   # subscription computes each recipient's report under it. false: not known yet.
                   sa.Column("access_known", sa.Boolean, nullable=False, server_default=sa.false()),
                   sa.Column("access_scopes", pg.JSONB, nullable=False, server_default="[]"),
                   sa.Column("data_scope", sa.Text, nullable=False, server_default="own"),
                   sa.Column("team_ids", pg.JSONB, nullable=False, server_default="[]"),
                   sa.Column("field_policies", pg.JSONB, nullable=False, server_default="{}")):
        op.add_column("user_teams", column, schema=current_schema())


def downgrade() -> None:
    for name in ("display_name", "email", "locale", "disabled", "access_known", "access_scopes", "data_scope",
                 "team_ids", "field_policies"):
        op.drop_column("user_teams", name, schema=current_schema())
    op.drop_table("subscription_deliveries", schema=T)
    op.drop_table("subscription_recipients", schema=T)
    op.drop_table("report_subscriptions", schema=T)
    op.drop_table("share_settings", schema=T)
    op.drop_table("share_links", schema=T)
