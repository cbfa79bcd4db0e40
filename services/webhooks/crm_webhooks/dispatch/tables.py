"""The service-wide delivery queue (control schema, migration wc0040): one row per delivery waiting
to be sent (or in flight), one lane per endpoint that has had any."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import CONTROL, new_metadata

control_metadata = new_metadata()

TRIGGERS = ("event", "replay")

webhook_queue = sa.Table(
    "webhook_queue",
    control_metadata,
    sa.Column("delivery_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("endpoint_id", pg.UUID(as_uuid=True), nullable=False),
    # When the next attempt is due; while an attempt is in flight, when its lease runs out (a
    # crashed sender's delivery is then due again).
    sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
    # Attempts made in this run: the position in the retry schedule (a replay starts again at 0).
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("trigger", sa.Text, nullable=False, server_default="event"),
    # Claims taken in this run: more than `attempt` when a worker died (or failed) mid-attempt.
    sa.Column("claims", sa.Integer, nullable=False, server_default="0"),
    # The claim holding the attempt in flight; NULL while waiting.
    sa.Column("claim_id", pg.UUID(as_uuid=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint(f"trigger IN {TRIGGERS!r}", name="trigger"),
    schema=CONTROL,
)

webhook_lanes = sa.Table(
    "webhook_lanes",
    control_metadata,
    sa.Column("endpoint_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    # When the lane was last given a slot (NULL: never): the round-robin order.
    sa.Column("served_at", sa.DateTime(timezone=True)),
    schema=CONTROL,
)
