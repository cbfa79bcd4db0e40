"""Customer merges and their undo records: `customers.merged_into` and the `merges` table.

A merge snapshots every involved customer (ciphertext of sensitive fields, never plaintext), writes
the survivor's chosen values, soft-deletes the merged customers with `merged_into`, and keeps what
related records it moved, so an undo within 30 days can put everything back (crm_customers/merge/).

Revision ID: c0006
Revises: c0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0006"
down_revision: str | None = "c0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.add_column("customers", sa.Column("merged_into", pg.UUID(as_uuid=True)), schema=current_schema())

    op.create_table(
        "merges",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("survivor_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("merged_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False),
        # field -> id of the customer whose value survived
        sa.Column("choices", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        # customer id -> column values before the merge (sensitive fields as base64 ciphertext)
        sa.Column("snapshot", pg.JSONB, nullable=False),
        # RelatedRecords.name -> its undo information
        sa.Column("related", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("changed_fields", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        # The survivor's version right after the merge: a later edit is detected on undo.
        sa.Column("survivor_version", sa.BigInteger, nullable=False),
        sa.Column("merged_by", sa.Text, nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.Column("undone_by", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("cardinality(merged_ids) BETWEEN 1 AND 9", name="ck_merges_merged_ids"),
        schema=T,
    )
    op.create_index("ix_merges_merged_at", "merges", [sa.text("merged_at DESC"), sa.text("id DESC")], schema=T)
    op.create_index("ix_merges_survivor", "merges", ["survivor_id"], schema=T)


def downgrade() -> None:
    op.drop_table("merges", schema=T)
    op.drop_column("customers", "merged_into", schema=current_schema())
