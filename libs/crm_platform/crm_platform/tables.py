"""Core table objects for the platform's control tables (created by platform_migrations)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import CONTROL, new_metadata

metadata = new_metadata()

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("schema_name", sa.Text, nullable=False),
    sa.Column("provisioned_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # Set while the tenant is suspended (platform migration p0002); every call of its tokens is refused.
    sa.Column("suspended_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("payload", pg.JSONB, nullable=False),
    sa.Column("headers", pg.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    schema=CONTROL,
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=CONTROL,
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("tenant_id", pg.UUID(as_uuid=True)),
    sa.Column("payload", pg.JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("locked_by", sa.Text),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("progress_done", sa.BigInteger, nullable=False),
    sa.Column("progress_total", sa.BigInteger),
    sa.Column("result", pg.JSONB),
    sa.Column("last_error", sa.Text),
    sa.Column("dedupe_key", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=CONTROL,
)

# Offboarded tenants whose data this service erased: the id only (platform migration p0002).
erased_tenants = sa.Table(
    "erased_tenants",
    metadata,
    sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("erased_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=CONTROL,
)

# The platform scheduler's rows (platform migration p0045, crm_platform/scheduler.py).
schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("payload", pg.JSONB, nullable=False),
    # When to fire next: the occurrence (for a recurring schedule computed from rrule in
    # time_zone), or later while a failed attempt waits for its retry.
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rrule", sa.Text),
    sa.Column("dtstart", sa.DateTime(timezone=True)),
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", sa.DateTime(timezone=True)),
    sa.Column("last_fired_at", sa.DateTime(timezone=True)),
    sa.Column("fired_count", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "kind", "key"),
    schema=CONTROL,
)

# Rendered messages waiting for SMTP (platform migration p0045, crm_platform/mail.py).
mail_outbox = sa.Table(
    "mail_outbox",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", pg.UUID(as_uuid=True)),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("sender", sa.Text, nullable=False),
    sa.Column("recipients", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("message", sa.LargeBinary),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)
