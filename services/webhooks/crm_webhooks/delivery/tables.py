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
    # Migration w0040: how often it was replayed, and when it was last attempted.
    sa.Column("replays", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
    # A redelivered event must not produce a second delivery to the same endpoint.
    sa.UniqueConstraint("endpoint_id", "event_id"),
    sa.CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
    schema=TENANT,
)

# The delivery log: one row per HTTP attempt (w0040). Never holds the signature or the secret; the
# request body is not copied (it is the delivery's payload), the response body only as an excerpt.
delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("delivery_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.deliveries.id"), nullable=False),
    # 1 for the delivery's first attempt, counting across replays.
    sa.Column("number", sa.Integer, nullable=False),
    # "event" (the event's own retry schedule) or "replay".
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("request_headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("response_headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("response_body_excerpt", sa.Text, nullable=False, server_default=""),
    sa.Column("response_truncated", sa.Boolean, nullable=False, server_default=sa.false()),
    schema=TENANT,
)
