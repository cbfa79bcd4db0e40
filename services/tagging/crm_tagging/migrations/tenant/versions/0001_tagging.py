"""Tags, auto-tag rules and the tags applied to customers.

Revision ID: tg0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "tg0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("color", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 50", name="ck_tags_name_length"),
        sa.CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="ck_tags_color_hex"),
        schema="tenant",
    )
    # Names are unique ignoring case: "VIP" and "vip" are the same tag to a person.
    op.create_index("uq_tags_name_lower", "tags", [sa.text("lower(name)")], unique=True, schema="tenant")
    op.create_index("ix_tags_created", "tags", ["created_at", "id"], schema="tenant")

    op.create_table(
        "tag_rules",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tag_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.tags.id", ondelete="CASCADE", name="fk_tag_rules_tag_id_tags"),
                  nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("field IN ('industry', 'region', 'status', 'type', 'name', 'email', 'mobile')",
                           name="ck_tag_rules_field"),
        sa.CheckConstraint("operator IN ('equals', 'contains')", name="ck_tag_rules_operator"),
        sa.CheckConstraint("char_length(value) >= 1", name="ck_tag_rules_value"),
        schema="tenant",
    )
    op.create_index("ix_tag_rules_tag_id", "tag_rules", ["tag_id"], schema="tenant")

    op.create_table(
        "customer_tags",
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tag_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.tags.id", ondelete="CASCADE", name="fk_customer_tags_tag_id_tags"),
                  nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("rule_id", pg.UUID(as_uuid=True),
                  sa.ForeignKey("tenant.tag_rules.id", ondelete="SET NULL",
                                name="fk_customer_tags_rule_id_tag_rules")),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("customer_id", "tag_id", name="pk_customer_tags"),
        sa.CheckConstraint("source IN ('rule', 'manual')", name="ck_customer_tags_source"),
        schema="tenant",
    )
    # "Which customers carry tag X" (segments, usage statistics).
    op.create_index("ix_customer_tags_tag_id", "customer_tags", ["tag_id"], schema="tenant")


def downgrade() -> None:
    op.drop_table("customer_tags", schema="tenant")
    op.drop_table("tag_rules", schema="tenant")
    op.drop_table("tags", schema="tenant")
