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
    # Who applied it by hand ("" for rules); migration tg0003.
    sa.Column("applied_by", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)

# Numbers every apply and removal (TagApplied/TagRemoved.change_seq); migration tg0003.
tag_change_seq = sa.Sequence("tag_change_seq", schema=TENANT)
