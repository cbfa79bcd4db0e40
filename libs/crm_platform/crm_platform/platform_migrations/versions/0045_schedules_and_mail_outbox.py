"""The platform scheduler's schedules and the transactional mail outbox.

- `control.schedules`: one row per schedule (a one-shot due time or an RFC 5545 RRULE in an IANA
  time zone), unique per (tenant, kind, key) so its owner upserts and cancels idempotently;
  `occurrence_at` is the next occurrence, `due_at` when it fires (later while a failed attempt
  waits for its retry). Claimed with `FOR UPDATE SKIP LOCKED` by `crm_platform/scheduler.py`.
- `control.mail_outbox`: rendered messages written in the business transaction, sent after commit
  by `crm_platform/mail.py`'s `MailSender` with retries and a dead state.

Both carry `tenant_id`, so tenant offboarding deletes them with the tenant's other control rows.

Revision ID: p0045
Revises: p0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "p0045"
down_revision: str | None = "p0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False, server_default="{}"),
        # When to fire next: the occurrence itself, or a retry's time after a failed attempt.
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        # The occurrence being fired (what the handler is told; lag is measured from it).
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rrule", sa.Text),
        sa.Column("dtstart", sa.DateTime(timezone=True)),
        sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime(timezone=True)),
        sa.Column("last_fired_at", sa.DateTime(timezone=True)),
        sa.Column("fired_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("tenant_id", "kind", "key", name="uq_schedules_tenant_id_kind_key"),
        sa.CheckConstraint("status IN ('active', 'dead')", name="ck_schedules_status"),
        schema="control",
    )
    # Claims take due rows in (due_at, tenant_id) order: a burst due at one instant comes out
    # grouped by tenant, so a batch makes few tenant-bound handler calls.
    op.create_index(
        "ix_schedules_due", "schedules", ["due_at", "tenant_id"], schema="control",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True)),
        sa.Column("category", sa.Text, nullable=False, server_default=""),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("recipients", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("subject", sa.Text, nullable=False, server_default=""),
        sa.Column("message_id", sa.Text, nullable=False),
        # The whole RFC 5322 message; cleared once sent (it may carry one-time links).
        sa.Column("message", sa.LargeBinary),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name="ck_mail_outbox_status"),
        schema="control",
    )
    op.create_index(
        "ix_mail_outbox_due", "mail_outbox", ["next_attempt_at"], schema="control",
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("mail_outbox", schema="control")
    op.drop_table("schedules", schema="control")
