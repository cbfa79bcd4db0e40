"""Activity timeline (`customer_activity`, back-filled from `status_history`) and mass changes
(`bulk_changes` with the snapshot of matching customers in `bulk_change_items`); erasure
tombstones (`customer_erasures`, see `_create_erasure_tombstones`).

Revision ID: c0009
Revises: c0008
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0009"
down_revision: str | None = "c0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "customer_activity",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.customers.id", ondelete="CASCADE",
                                name="fk_customer_activity_customer_id_customers"),
                  nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # created, updated, owner_changed, status_changed, deleted, restored, revealed, tag_applied,
        # tag_removed, task_created, task_completed, order_recorded (crm_customers/activity/kinds.py)
        sa.Column("kind", sa.Text, nullable=False),
        # User id, `client:<id>`, or "" for another service's automatic work (e.g. a tag rule).
        sa.Column("actor", sa.Text, nullable=False, server_default=""),
        sa.Column("data", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        schema=T,
    )
    op.create_index("ix_customer_activity_timeline", "customer_activity",
                    ["customer_id", sa.text("occurred_at DESC"), sa.text("id DESC")], schema=T)
    schema = current_schema()
    # Back-fill: the initial status row is the creation, every later one a status change.
    op.execute(sa.text(f"""
        INSERT INTO "{schema}".customer_activity (id, customer_id, occurred_at, kind, actor, data)
        SELECT h.id, h.customer_id, h.changed_at,
               CASE WHEN h.from_status = '' THEN 'created' ELSE 'status_changed' END,
               h.changed_by,
               CASE WHEN h.from_status = '' THEN jsonb_build_object('changes', jsonb_build_array(
                        jsonb_build_object('field', 'status', 'to', h.to_status)))
                    ELSE jsonb_build_object(
                        'changes', jsonb_build_array(jsonb_build_object(
                            'field', 'status', 'from', h.from_status, 'to', h.to_status)),
                        'reason', h.reason) END
        FROM "{schema}".status_history h
        JOIN "{schema}".customers c ON c.id = h.customer_id
    """))

    op.create_table(
        "bulk_changes",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("job_id", pg.UUID(as_uuid=True)),
        # queued -> snapshotting is implicit -> running -> succeeded | cancelled; cancelling on request.
        sa.Column("status", sa.Text, nullable=False),
        # The list filters as sent (crm.customers.v1.ListCustomersRequest in proto3 JSON).
        sa.Column("filter", pg.JSONB, nullable=False),
        # {"owner_id": ...} or {"status": ..., "reason": ...}
        sa.Column("changes", pg.JSONB, nullable=False),
        # The caller's access when the change was asked for; the job acts as this principal.
        sa.Column("principal", pg.JSONB, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("total", sa.Integer),
        sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        # Position of the last processed item; a resumed job continues after it.
        sa.Column("cursor", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        schema=T,
    )
    op.create_table(
        "bulk_change_items",
        sa.Column("bulk_change_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.bulk_changes.id", ondelete="CASCADE",
                                name="fk_bulk_change_items_bulk_change_id_bulk_changes"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.customers.id", ondelete="CASCADE",
                                name="fk_bulk_change_items_customer_id_customers"),
                  nullable=False),
        # NULL until processed; then changed | unchanged | failed (with the error code).
        sa.Column("outcome", sa.Text),
        sa.Column("code", sa.Text, nullable=False, server_default=""),
        schema=T,
    )
    op.create_index("ix_bulk_change_items_failed", "bulk_change_items", ["bulk_change_id", "position"],
                    postgresql_where=sa.text("outcome = 'failed'"), schema=T)
    op.create_index("ix_bulk_change_items_customer", "bulk_change_items", ["customer_id"], schema=T)
    _create_erasure_tombstones()


# Erasure (crm_customers/erasure/, docs/customers.md "Erasure"; added to this revision, which is
# reserved for "activity, mass changes, erasure"): one row per erased customer, the id, when, by
# whom and why; no personal data. Late events about the id are ignored and it is never used again.
def _create_erasure_tombstones() -> None:
    op.create_table(
        "customer_erasures",
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("erased_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("customer_erasures", schema=T)
    op.drop_table("bulk_change_items", schema=T)
    op.drop_table("bulk_changes", schema=T)
    op.drop_table("customer_activity", schema=T)
