"""Merge bookkeeping tables (migration tg0002)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT
from crm_platform.merges import merge_log_table
from crm_tagging.tag.tables import metadata

merge_log = merge_log_table(metadata)

merge_tag_moves = sa.Table(
    "merge_tag_moves",
    metadata,
    sa.Column("merge_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("moved", sa.Boolean, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("rule_id", pg.UUID(as_uuid=True)),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("applied_by", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)
