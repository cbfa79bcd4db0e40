"""Batch tagging (docs/tagging.md, "Batch tagging"): one row per batch (who, what, which tags, its
job's counts, when undone) and one row per change it made, so its undo reverses exactly those.

Revision ID: tg0132
Revises: tg0131
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "tg0132"
down_revision: str | None = "tg0131"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "tag_batches",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("tag_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False),
        sa.Column("customer_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("applied", sa.Integer, nullable=False, server_default="0"),
        sa.Column("removed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("job_id", pg.UUID(as_uuid=True)),
        sa.Column("undone_by", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("action IN ('add', 'remove')", name="ck_tag_batches_action"),
        sa.CheckConstraint("status IN ('running', 'succeeded', 'undoing', 'undone')", name="ck_tag_batches_status"),
        schema=T,
    )
    op.create_index("ix_tag_batches_created", "tag_batches", ["created_at"], schema=T)
    op.create_table(
        "tag_batch_changes",
        sa.Column("batch_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey(f"{T}.tag_batches.id", ondelete="CASCADE", name="fk_tag_batch_changes_batch"),
                  nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tag_id", pg.UUID(as_uuid=True), nullable=False),
        # What the batch did: "applied" or "removed" (a removal keeps the row's source to restore it).
        sa.Column("change", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False, server_default=""),
        sa.Column("rule_id", pg.UUID(as_uuid=True)),
        sa.Column("applied_by", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("batch_id", "customer_id", "tag_id", name="pk_tag_batch_changes"),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("tag_batch_changes", schema=T)
    op.drop_table("tag_batches", schema=T)
