"""The deliveries table: one row per (endpoint, event), its state and last attempt."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT
from crm_webhooks.endpoint.tables import metadata

# "cancelled": the customer the payload is about was erased before it was delivered (w0002).
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "dead", "cancelled")

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("endpoint_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.endpoints.id"), nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    # The CloudEvent envelope as received; the body sent is re-encoded from it on every attempt.
    sa.Column("payload", pg.JSONB, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # Set when the payload was emptied because its customer was erased (w0002); metadata stays.
    sa.Column("payload_purged_at", sa.DateTime(timezone=True)),
    # A redelivered event must not produce a second delivery to the same endpoint.
    sa.UniqueConstraint("endpoint_id", "event_id"),
    sa.CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
    schema=TENANT,
)
