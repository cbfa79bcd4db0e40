"""Tag tables as SQL expressions (the schema itself is created by migrations/tenant)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

# Migration tg0130: the four built-in categories (`key` set) and the tenant's own.
tag_categories = sa.Table(
    "tag_categories",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("key", sa.Text),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("position", sa.Integer, nullable=False, server_default="100"),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("color", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    # Migration tg0130.
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("category_id", pg.UUID(as_uuid=True), sa.ForeignKey(tag_categories.c.id)),
    sa.Column("exclusive_group", sa.Text, nullable=False, server_default=""),
    sa.Column("archived_at", sa.DateTime(timezone=True)),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

tagging_settings = sa.Table(
    "tagging_settings",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("max_tags_per_customer", sa.Integer, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

# One row per tag applied to or removed from a customer (usage review); migration tg0130.
tag_history = sa.Table(
    "tag_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("tag_id", pg.UUID(as_uuid=True), sa.ForeignKey(tags.c.id), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("rule_id", pg.UUID(as_uuid=True)),
    sa.Column("actor", sa.Text, nullable=False, server_default=""),
    sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now()),
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
    # Why a rule applied it: the event type and id, "sweep" or "rerun"; migration tg0131.
    sa.Column("trigger", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)

# Numbers every apply and removal (TagApplied/TagRemoved.change_seq); migration tg0003.
tag_change_seq = sa.Sequence("tag_change_seq", schema=TENANT)
