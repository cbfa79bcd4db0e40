"""Reporting's delivery tables: share links and their settings, subscriptions, their recipients and
delivery log (tenant schema, migration r0180), and the token -> tenant index the public share page
needs (control schema, migration rc0181)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from crm_platform.db import CONTROL, TENANT
from crm_reporting.scope.tables import metadata

share_links = sa.Table(
    "share_links", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("token_hash", sa.LargeBinary, nullable=False),
    sa.Column("target", JSONB, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("scope_snapshot", JSONB, nullable=False),
    sa.Column("personal_masked", sa.Boolean, nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("created_by", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_by", sa.Text),
    sa.Column("views", sa.BigInteger, nullable=False),
    sa.Column("last_viewed_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

share_settings = sa.Table(
    "share_settings", metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("allow_personal_fields", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    schema=TENANT,
)

report_subscriptions = sa.Table(
    "report_subscriptions", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("target", JSONB, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("frequency", sa.Text, nullable=False),
    sa.Column("weekday", sa.SmallInteger, nullable=False),
    sa.Column("day_of_month", sa.SmallInteger, nullable=False),
    sa.Column("time_of_day", sa.Text, nullable=False),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("format", sa.Text, nullable=False),
    sa.Column("rrule", sa.Text, nullable=False),
    sa.Column("created_by", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    schema=TENANT,
)

subscription_recipients = sa.Table(
    "subscription_recipients", metadata,
    sa.Column("subscription_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

subscription_deliveries = sa.Table(
    "subscription_deliveries", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("subscription_id", UUID(as_uuid=True), nullable=False),
    sa.Column("recipient_id", UUID(as_uuid=True), nullable=False),
    sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("mail_id", UUID(as_uuid=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    schema=TENANT,
)

control_metadata = sa.MetaData()

share_link_tokens = sa.Table(
    "share_link_tokens", control_metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column("tenant_id", UUID(as_uuid=True), nullable=False),
    sa.Column("link_id", UUID(as_uuid=True), nullable=False),
    schema=CONTROL,
)
