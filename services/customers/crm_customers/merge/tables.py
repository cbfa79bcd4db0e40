"""The merge record (migration c0006)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_customers.customer.tables import metadata
from crm_platform.db import TENANT

merges = sa.Table(
    "merges",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("survivor_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("merged_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False),
    sa.Column("choices", pg.JSONB, nullable=False),
    sa.Column("snapshot", pg.JSONB, nullable=False),
    sa.Column("related", pg.JSONB, nullable=False),
    sa.Column("changed_fields", pg.ARRAY(sa.Text), nullable=False),
    sa.Column("survivor_version", sa.BigInteger, nullable=False),
    sa.Column("merged_by", sa.Text, nullable=False),
    sa.Column("merged_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
    sa.Column("undone_by", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)
