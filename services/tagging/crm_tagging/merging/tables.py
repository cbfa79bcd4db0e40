"""Merge bookkeeping tables (migration tg0002)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT
from crm_tagging.tag.tables import metadata

merge_log = sa.Table(
    "merge_log",
    metadata,
    sa.Column("merge_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("survivor_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("merged_at", sa.DateTime(timezone=True)),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

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
    schema=TENANT,
)
