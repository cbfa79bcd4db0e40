"""Follow-up records, their number counters, the tenant's follow-up settings and dictionaries
(created by migration fu0110)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.db import TENANT

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("followed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("next_followup_at", sa.DateTime(timezone=True)),
    sa.Column("followed_by", sa.Text, nullable=False),
    sa.Column("task_id", pg.UUID(as_uuid=True)),
    sa.Column("next_task_id", pg.UUID(as_uuid=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("created_by", sa.Text, nullable=False),
    schema=TENANT,
)

record_counters = sa.Table(
    "record_counters",
    metadata,
    sa.Column("prefix", sa.Text, primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
    schema=TENANT,
)

followup_settings = sa.Table(
    "followup_settings",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    schema=TENANT,
)

dictionary_entries = sa.Table(
    "dictionary_entries",
    metadata,
    sa.Column("dictionary", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("label_en", sa.Text, nullable=False),
    sa.Column("label_zh", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    schema=TENANT,
)
