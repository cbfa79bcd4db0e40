"""Duplicate detection: the tenant's `duplicate_policy`, every customer's match keys (backfilled
here for existing customers), scans, groups with their members, and dismissed pairs.

Revision ID: c0005
Revises: c0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_customers.duplicates.keys import keys_of
from crm_platform.migrations import current_schema

revision: str = "c0005"
down_revision: str | None = "c0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


BACKFILL_BATCH = 5000


def _uuid(name: str, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, pg.UUID(as_uuid=True), **kw)


def _at(name: str, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), **kw)


def upgrade() -> None:
    schema = current_schema()
    op.add_column("customer_settings", sa.Column("duplicate_policy", sa.Text, nullable=False,
                                                 server_default="warn"), schema=schema)
    op.create_table(
        "customer_match_keys",
        _uuid("customer_id", nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "kind", "value"),
        sa.ForeignKeyConstraint(["customer_id"], [f"{T}.customers.id"], ondelete="CASCADE"),
        schema=T,
    )
    op.create_index("ix_customer_match_keys_kind_value", "customer_match_keys", ["kind", "value"], schema=T)

    op.create_table(
        "duplicate_scans",
        _uuid("id", primary_key=True),
        sa.Column("status", sa.Text, nullable=False),  # queued, running, succeeded, failed
        sa.Column("phase", sa.Text, nullable=False, server_default=""),  # exact, fuzzy, grouping, done
        sa.Column("processed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("pairs_found", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("groups_found", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("requested_by", sa.Text, nullable=False),
        _at("created_at", nullable=False, server_default=sa.func.now()),
        _at("started_at"),
        _at("finished_at"),
        schema=T,
    )
    op.create_index("ix_duplicate_scans_created", "duplicate_scans", [sa.text("created_at DESC")], schema=T)
    # Candidate pairs a running scan has found so far (its checkpoint); emptied when it finishes.
    op.create_table(
        "duplicate_scan_pairs",
        _uuid("scan_id", nullable=False),
        _uuid("a", nullable=False),
        _uuid("b", nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("reasons", pg.ARRAY(sa.Text), nullable=False),
        sa.PrimaryKeyConstraint("scan_id", "a", "b"),
        schema=T,
    )
    op.create_table(
        "duplicate_groups",
        _uuid("id", primary_key=True),
        _uuid("scan_id", nullable=False),
        sa.Column("status", sa.Text, nullable=False),  # open, dismissed, merged
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("reasons", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("pairs", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        _at("created_at", nullable=False, server_default=sa.func.now()),
        _at("updated_at", nullable=False, server_default=sa.func.now()),
        sa.Column("resolved_by", sa.Text, nullable=False, server_default=""),
        schema=T,
    )
    op.create_index("ix_duplicate_groups_open", "duplicate_groups", [sa.text("confidence DESC"), "id"], schema=T,
                    postgresql_where=sa.text("status = 'open'"))
    op.create_table(
        "duplicate_group_members",
        _uuid("group_id", nullable=False),
        _uuid("customer_id", nullable=False),
        sa.PrimaryKeyConstraint("group_id", "customer_id"),
        sa.ForeignKeyConstraint(["group_id"], [f"{T}.duplicate_groups.id"], ondelete="CASCADE"),
        schema=T,
    )
    op.create_index("ix_duplicate_group_members_customer", "duplicate_group_members", ["customer_id"], schema=T)
    # Pairs a reviewer said are not duplicates (customer_a < customer_b); later scans skip them.
    op.create_table(
        "duplicate_dismissals",
        _uuid("customer_a", nullable=False),
        _uuid("customer_b", nullable=False),
        sa.Column("dismissed_by", sa.Text, nullable=False),
        _at("dismissed_at", nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("customer_a", "customer_b"),
        schema=T,
    )
    _backfill(schema)


def _backfill(schema: str) -> None:
    """Match keys of the customers that exist already (the same function as every write)."""
    bind = op.get_bind()
    columns = "id, name, mobile, phone, email, credit_code, resident_id_bidx, bank_card_bidx"
    after = None
    while True:
        where = "WHERE id > :after" if after is not None else ""
        rows = bind.execute(sa.text(
            f'SELECT {columns} FROM "{schema}".customers {where} ORDER BY id LIMIT {BACKFILL_BATCH}'
        ), {"after": after}).mappings().all()
        if not rows:
            return
        values = [{"c": row["id"], "k": kind, "v": value} for row in rows for kind, value in keys_of(dict(row))]
        if values:
            bind.execute(sa.text(
                f'INSERT INTO "{schema}".customer_match_keys (customer_id, kind, value) VALUES (:c, :k, :v) '
                "ON CONFLICT DO NOTHING"
            ), values)
        after = rows[-1]["id"]


def downgrade() -> None:
    schema = current_schema()
    for table in ("duplicate_dismissals", "duplicate_group_members", "duplicate_groups", "duplicate_scan_pairs",
                  "duplicate_scans", "customer_match_keys"):
        op.drop_table(table, schema=T)
    op.drop_column("customer_settings", "duplicate_policy", schema=schema)
