"""Batch tagging tables as SQL expressions (migration tg0132)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT
from crm_tagging.tag.tables import metadata

tag_batches = sa.Table(
    "tag_batches",
    metadata,
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
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("undone_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

tag_batch_changes = sa.Table(
    "tag_batch_changes",
    metadata,
    sa.Column("batch_id", pg.UUID(as_uuid=True), sa.ForeignKey(tag_batches.c.id), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False, server_default=""),
    sa.Column("rule_id", pg.UUID(as_uuid=True)),
    sa.Column("applied_by", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)
