"""The governed tag library (docs/tagging.md): categories, richer tags, a per-customer limit and
the history of every tag change.

- `tag_categories`: the four categories of the platform guide (key `basic`, `behaviour`, `value`,
  `preference`), seeded here for every tenant, plus the tenant's own (key NULL).
- `tags` gain a description, a category, an optional mutually exclusive group (a customer carries
  at most one tag of a group), `archived_at` (archived tags stay on customers but are applied no
  more) and a version for If-Match.
- `tagging_settings`: one row, `max_tags_per_customer` (default 10, the guide's advice).
- `tag_history`: one row per tag applied to or removed from a customer, with its source, rule and
  actor, for the usage review (applied/removed in the last 90 days, last applied, by hand or rule).

Revision ID: tg0130
Revises: tg0035
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.ids import new_id
from crm_platform.migrations import current_schema

revision: str = "tg0130"
down_revision: str | None = "tg0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"
# The guide's four categories, in its order; names are the English defaults (the web UI shows the
# built-in ones in the reader's language by key).
DEFAULT_CATEGORIES = (
    ("basic", "Basic information"),
    ("behaviour", "Behaviour"),
    ("value", "Value"),
    ("preference", "Preference"),
)


def upgrade() -> None:
    categories = op.create_table(
        "tag_categories",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("key", sa.Text, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("position", sa.Integer, nullable=False, server_default="100"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 50", name="ck_tag_categories_name_length"),
        schema=T,
    )
    op.create_index("uq_tag_categories_name_lower", "tag_categories", [sa.text("lower(name)")], unique=True,
                    schema=T)
    op.bulk_insert(categories, [{"id": new_id(), "key": key, "name": name, "description": "", "position": i}
                                for i, (key, name) in enumerate(DEFAULT_CATEGORIES)])

    # ALTERs name the real schema (schema_translate_map reaches Tables, not these statements).
    schema = current_schema()
    op.add_column("tags", sa.Column("description", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("tags", sa.Column("category_id", pg.UUID(as_uuid=True),
                                    sa.ForeignKey(f"{schema}.tag_categories.id", ondelete="SET NULL",
                                                  name="fk_tags_category_id_tag_categories")), schema=schema)
    op.add_column("tags", sa.Column("exclusive_group", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("tags", sa.Column("archived_at", sa.DateTime(timezone=True)), schema=schema)
    op.add_column("tags", sa.Column("version", sa.BigInteger, nullable=False, server_default="1"), schema=schema)
    op.add_column("tags", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                    server_default=sa.func.now()), schema=schema)
    op.create_check_constraint("ck_tags_description_length", "tags", "char_length(description) <= 500", schema=schema)
    op.create_check_constraint("ck_tags_group_length", "tags", "char_length(exclusive_group) <= 50", schema=schema)
    op.create_index("ix_tags_category", "tags", ["category_id"], schema=schema)

    settings = op.create_table(
        "tagging_settings",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("max_tags_per_customer", sa.Integer, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("id = 1", name="ck_tagging_settings_one_row"),
        sa.CheckConstraint("max_tags_per_customer BETWEEN 1 AND 100", name="ck_tagging_settings_limit"),
        schema=T,
    )
    op.bulk_insert(settings, [{"id": 1, "max_tags_per_customer": 10, "version": 1}])

    op.create_table(
        "tag_history",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tag_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey(f"{T}.tags.id", ondelete="CASCADE", name="fk_tag_history_tag_id_tags"),
                  nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("rule_id", pg.UUID(as_uuid=True)),
        sa.Column("actor", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("action IN ('applied', 'removed')", name="ck_tag_history_action"),
        schema=T,
    )
    op.create_index("ix_tag_history_tag_at", "tag_history", ["tag_id", "at"], schema=T)


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("tag_history", schema=T)
    op.drop_table("tagging_settings", schema=T)
    op.drop_index("ix_tags_category", "tags", schema=schema)
    for name in ("ck_tags_group_length", "ck_tags_description_length"):
        op.drop_constraint(name, "tags", schema=schema)
    for column in ("updated_at", "version", "archived_at", "exclusive_group", "category_id", "description"):
        op.drop_column("tags", column, schema=schema)
    op.drop_table("tag_categories", schema=T)
