"""The replays table: range replays of an endpoint's deliveries, each run by a job (w0040)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT
from crm_webhooks.endpoint.tables import metadata

REPLAY_STATUSES = ("queued", "running", "succeeded", "failed")

replays = sa.Table(
    "replays",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("endpoint_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.endpoints.id"), nullable=False),
    # Deliveries created in [since, until).
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    # Which finished deliveries are sent again ("succeeded", "dead").
    sa.Column("statuses", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="queued"),
    sa.Column("deliveries_total", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("deliveries_replayed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("deliveries_skipped", sa.BigInteger, nullable=False, server_default="0"),
    # The last delivery handled, in (created_at, id) order: a restarted job resumes after it.
    sa.Column("cursor_created_at", sa.DateTime(timezone=True)),
    sa.Column("cursor_id", pg.UUID(as_uuid=True)),
    sa.Column("requested_by", sa.Text, nullable=False, server_default=""),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint(f"status IN {REPLAY_STATUSES!r}", name="status"),
    schema=TENANT,
)
