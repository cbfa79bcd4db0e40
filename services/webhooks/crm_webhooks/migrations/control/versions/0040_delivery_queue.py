"""The fair delivery queue: one row per delivery waiting to be sent, one lane per endpoint.

Revision ID: wc0040
Revises:
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "wc0040"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

C = "control"


def upgrade() -> None:
    # Service-wide (not per tenant) so one query can pick work fairly across tenants.
    op.create_table(
        "webhook_queue",
        sa.Column("delivery_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint_id", pg.UUID(as_uuid=True), nullable=False),
        # When the next attempt is due; while an attempt is in flight, when its lease runs out.
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        # Attempts made in this run (the position in the retry schedule; a replay starts at 0).
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("trigger", sa.Text, nullable=False, server_default="event"),
        # Claims taken in this run: more than `attempt` when a worker died (or failed) mid-attempt.
        sa.Column("claims", sa.Integer, nullable=False, server_default="0"),
        # The claim holding the attempt in flight (NULL when waiting).
        sa.Column("claim_id", pg.UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_webhook_queue"),
        sa.CheckConstraint("trigger IN ('event', 'replay')", name="ck_webhook_queue_trigger"),
        schema=C,
    )
    # Per endpoint, oldest due first: the claim's probe and pick.
    op.create_index("ix_webhook_queue_endpoint_id_run_at", "webhook_queue",
                    ["endpoint_id", "run_at", "delivery_id"], schema=C)
    # In-flight attempts (few rows): per-endpoint and per-tenant caps, tenants' turns.
    op.create_index("ix_webhook_queue_in_flight_endpoint", "webhook_queue", ["endpoint_id"],
                    postgresql_where=sa.text("claim_id IS NOT NULL"), schema=C)
    op.create_index("ix_webhook_queue_in_flight_tenant", "webhook_queue", ["tenant_id"],
                    postgresql_where=sa.text("claim_id IS NOT NULL"), schema=C)
    op.create_index("ix_webhook_queue_tenant_id", "webhook_queue", ["tenant_id"], schema=C)
    op.create_table(
        "webhook_lanes",
        sa.Column("endpoint_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        # When the lane was last given a slot: the round-robin order (never served first).
        sa.Column("served_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("endpoint_id", name="pk_webhook_lanes"),
        schema=C,
    )
    op.create_index("ix_webhook_lanes_tenant_id_served_at", "webhook_lanes", ["tenant_id", "served_at"], schema=C)


def downgrade() -> None:
    op.drop_table("webhook_lanes", schema=C)
    op.drop_table("webhook_queue", schema=C)
