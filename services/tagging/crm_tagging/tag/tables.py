"""Tag tables as SQL expressions (the schema itself is created by migrations/tenant)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("color", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

customer_tags = sa.Table(
    "customer_tags",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", pg.UUID(as_uuid=True), sa.ForeignKey(tags.c.id), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("rule_id", pg.UUID(as_uuid=True)),
    sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)
