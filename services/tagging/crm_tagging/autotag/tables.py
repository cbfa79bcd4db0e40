"""Auto-tag rule table as SQL expressions (created by migrations/tenant)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT
from crm_tagging.tag.tables import metadata, tags

tag_rules = sa.Table(
    "tag_rules",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("tag_id", pg.UUID(as_uuid=True), sa.ForeignKey(tags.c.id), nullable=False),
    sa.Column("field", sa.Text, nullable=False),
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)
