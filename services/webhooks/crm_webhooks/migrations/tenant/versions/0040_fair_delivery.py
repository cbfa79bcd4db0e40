"""Fair delivery, delivery log, replays, endpoint health and delete.

- endpoints: why and when disabled, failing since (automatic disable), deleted_at (tombstone).
- deliveries: replay count, last attempt time; list indexes by (created_at, id) for time filters.
- delivery_attempts: one row per HTTP attempt (the delivery log).
- replays: range replays, run as jobs.
- Pending deliveries move from `webhook.deliver` jobs to the fair queue (`control.webhook_queue`,
  created by the service's control tree, which is migrated before tenant schemas).

Revision ID: w0040
Revises: w0002
Create Date: 2026-12-01
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "w0040"
down_revision: str | None = "w0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def _tenant_id(schema: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(schema.removeprefix("t_")) if schema.startswith("t_") else None
    except ValueError:
        return None


def upgrade() -> None:
    schema = current_schema()
    for column in (sa.Column("disabled_reason", sa.Text), sa.Column("disabled_at", sa.DateTime(timezone=True)),
                   sa.Column("failing_since", sa.DateTime(timezone=True)),
                   sa.Column("deleted_at", sa.DateTime(timezone=True))):
        op.add_column("endpoints", column, schema=schema)
    op.execute(f"""UPDATE "{schema}".endpoints SET disabled_reason = 'manual', disabled_at = updated_at
                   WHERE NOT enabled""")
    op.add_column("deliveries", sa.Column("replays", sa.Integer, nullable=False, server_default="0"), schema=schema)
    op.add_column("deliveries", sa.Column("last_attempt_at", sa.DateTime(timezone=True)), schema=schema)
    op.drop_index("ix_deliveries_endpoint_id_id", table_name="deliveries", schema=T)
    # The delivery log: an endpoint's deliveries newest first, optionally of one status, in a time range.
    op.create_index("ix_deliveries_endpoint_id_created_at_id", "deliveries",
                    ["endpoint_id", sa.text("created_at DESC"), sa.text("id DESC")], schema=T)
    op.create_index("ix_deliveries_endpoint_id_status_created_at_id", "deliveries",
                    ["endpoint_id", "status", sa.text("created_at DESC"), sa.text("id DESC")], schema=T)
    op.create_table(
        "delivery_attempts",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("delivery_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
        sa.ForeignKeyConstraint(["delivery_id"], ["tenant.deliveries.id"],
                                name="fk_delivery_attempts_delivery_id_deliveries"),
        schema=T,
    )
    op.create_index("ix_delivery_attempts_delivery_id_number", "delivery_attempts", ["delivery_id", "number"],
                    schema=T)
    op.create_table(
        "replays",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("statuses", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("deliveries_total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("deliveries_replayed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("deliveries_skipped", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cursor_created_at", sa.DateTime(timezone=True)),
        sa.Column("cursor_id", pg.UUID(as_uuid=True)),
        sa.Column("requested_by", sa.Text, nullable=False, server_default=""),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_replays"),
        sa.ForeignKeyConstraint(["endpoint_id"], ["tenant.endpoints.id"], name="fk_replays_endpoint_id_endpoints"),
        sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="ck_replays_status"),
        schema=T,
    )
    op.create_index("ix_replays_endpoint_id_id", "replays", ["endpoint_id", sa.text("id DESC")], schema=T)

    tenant_id = _tenant_id(schema)
    if tenant_id is None:
        return
    # Deliveries waiting in the old per-delivery jobs join the fair queue, at their due time.
    op.execute(sa.text(f"""
        INSERT INTO control.webhook_queue (delivery_id, tenant_id, endpoint_id, run_at, attempt, trigger)
        SELECT d.id, :tenant, d.endpoint_id, coalesce(d.next_attempt_at, now()), d.attempts, 'event'
        FROM "{schema}".deliveries d JOIN "{schema}".endpoints e ON e.id = d.endpoint_id
        WHERE d.status IN ('pending', 'failed') AND e.enabled
        ON CONFLICT (delivery_id) DO NOTHING
    """).bindparams(tenant=tenant_id))
    op.execute(sa.text(f"""
        INSERT INTO control.webhook_lanes (endpoint_id, tenant_id)
        SELECT DISTINCT endpoint_id, :tenant FROM "{schema}".deliveries WHERE status IN ('pending', 'failed')
        ON CONFLICT (endpoint_id) DO NOTHING
    """).bindparams(tenant=tenant_id))
    op.execute(sa.text("DELETE FROM control.jobs WHERE kind = 'webhook.deliver' AND tenant_id = :tenant")
               .bindparams(tenant=tenant_id))


def downgrade() -> None:
    schema = current_schema()
    tenant_id = _tenant_id(schema)
    if tenant_id is not None:
        # Back to one `webhook.deliver` job per waiting delivery.
        op.execute(sa.text("""
            INSERT INTO control.jobs (id, kind, tenant_id, payload, status, attempts, max_attempts, run_at,
                                      progress_done, dedupe_key)
            SELECT gen_random_uuid(), 'webhook.deliver', q.tenant_id,
                   jsonb_build_object('tenant_id', q.tenant_id::text, 'delivery_id', q.delivery_id::text),
                   'queued', q.attempt, 10, q.run_at, 0, 'deliver:' || q.delivery_id::text
            FROM control.webhook_queue q WHERE q.tenant_id = :tenant
            ON CONFLICT (dedupe_key) DO NOTHING
        """).bindparams(tenant=tenant_id))
        op.execute(sa.text("DELETE FROM control.webhook_queue WHERE tenant_id = :tenant").bindparams(tenant=tenant_id))
        op.execute(sa.text("DELETE FROM control.webhook_lanes WHERE tenant_id = :tenant").bindparams(tenant=tenant_id))
    op.drop_table("replays", schema=T)
    op.drop_table("delivery_attempts", schema=T)
    op.drop_index("ix_deliveries_endpoint_id_status_created_at_id", table_name="deliveries", schema=T)
    op.drop_index("ix_deliveries_endpoint_id_created_at_id", table_name="deliveries", schema=T)
    op.create_index("ix_deliveries_endpoint_id_id", "deliveries", ["endpoint_id", sa.text("id DESC")], schema=T)
    for column in ("last_attempt_at", "replays"):
        op.drop_column("deliveries", column, schema=schema)
    for column in ("deleted_at", "failing_since", "disabled_at", "disabled_reason"):
        op.drop_column("endpoints", column, schema=schema)
