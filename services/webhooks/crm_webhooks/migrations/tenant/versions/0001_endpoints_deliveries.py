"""Webhook endpoints and deliveries.

Revision ID: w0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "w0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("event_types", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_endpoints"),
        schema="tenant",
    )
    op.create_table(
        "deliveries",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["tenant.endpoints.id"], name="fk_deliveries_endpoint_id_endpoints"
        ),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_deliveries_endpoint_id_event_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'dead')", name="ck_deliveries_status"
        ),
        schema="tenant",
    )
    # Listing an endpoint's deliveries newest first (ids are UUIDv7, so id order is time order).
    op.create_index(
        "ix_deliveries_endpoint_id_id", "deliveries", ["endpoint_id", sa.text("id DESC")], schema="tenant"
    )


def downgrade() -> None:
    op.drop_table("deliveries", schema="tenant")
    op.drop_table("endpoints", schema="tenant")
