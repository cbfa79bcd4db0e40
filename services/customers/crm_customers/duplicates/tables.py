"""Tables of duplicate detection (migration c0005)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

match_keys = sa.Table(
    "customer_match_keys",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, primary_key=True),
    schema=TENANT,
)

# A company name key's one-deletion neighbourhood (`name_del` keys, keys.py `deletions`), one array
# per customer with a GIN index (migration c0252); customers without one have no row.
name_deletions = sa.Table(
    "customer_name_deletions",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("deletions", pg.ARRAY(sa.Text), nullable=False),
    schema=TENANT,
)

duplicate_scans = sa.Table(
    "duplicate_scans",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("phase", sa.Text, nullable=False),
    sa.Column("processed", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("pairs_found", sa.BigInteger, nullable=False),
    sa.Column("groups_found", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

scan_pairs = sa.Table(
    "duplicate_scan_pairs",
    metadata,
    sa.Column("scan_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("a", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("b", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("reasons", pg.ARRAY(sa.Text), nullable=False),
    schema=TENANT,
)

duplicate_groups = sa.Table(
    "duplicate_groups",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("scan_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("reasons", pg.ARRAY(sa.Text), nullable=False),
    # [{"a": id, "b": id, "confidence": 0.93, "reasons": [...]}] for the pairs that joined the group.
    sa.Column("pairs", pg.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("resolved_by", sa.Text, nullable=False, server_default=""),
    # Customers in the component (migration c0055); a `too_large` group keeps a sample of them.
    sa.Column("size", sa.Integer, nullable=False, server_default="0"),
    sa.Column("too_large", sa.Boolean, nullable=False, server_default=sa.false()),
    schema=TENANT,
)

group_members = sa.Table(
    "duplicate_group_members",
    metadata,
    sa.Column("group_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    schema=TENANT,
)

dismissals = sa.Table(
    "duplicate_dismissals",
    metadata,
    sa.Column("customer_a", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_b", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("dismissed_by", sa.Text, nullable=False),
    sa.Column("dismissed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)
