"""Rules on fields, orders and inactivity (docs/tagging.md, "Rules").

- `rule_facts`: tagging's projection of each customer for rules, from customers' events: the fields
  (folded for comparison: NFKC + casefold), soft-deleted, when the status last changed, the last
  order date, the largest order amount, and `last_interaction_at` (the latest of creation, a status
  change and an order; follow-up records join here later). Rules compile to SQL over it, so one
  meaning serves events, the sweep, re-runs and previews.
- `rule_orders`: each order's amount, date and status (orders in the last N days).
- `tag_rules` gain a name, a condition tree (`conditions`, JSON), an action (`add`/`remove`), a
  priority, a version; the single field/operator/value become the tree's first leaf.
- `customer_tags.trigger`: why a rule applied the tag (the event type and id, `sweep` or `rerun`).

Revision ID: tg0131
Revises: tg0130
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "tg0131"
down_revision: str | None = "tg0130"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    op.create_table(
        "rule_facts",
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("fields", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("status_changed_at", sa.DateTime(timezone=True)),
        sa.Column("last_order_on", sa.Date),
        sa.Column("max_order_amount", sa.Numeric(18, 2)),
        sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    # The sweep's inactivity rules read the oldest interactions first.
    op.create_index("ix_rule_facts_last_interaction", "rule_facts", ["last_interaction_at"], schema=T)
    op.create_table(
        "rule_orders",
        sa.Column("order_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("ordered_on", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=T,
    )
    op.create_index("ix_rule_orders_customer", "rule_orders", ["customer_id", "ordered_on"], schema=T)

    for name in ("ck_tag_rules_field", "ck_tag_rules_operator", "ck_tag_rules_value"):
        op.drop_constraint(name, "tag_rules", schema=schema)
    for column in ("field", "operator", "value"):
        op.alter_column("tag_rules", column, nullable=True, schema=schema)
    op.add_column("tag_rules", sa.Column("name", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("tag_rules", sa.Column("conditions", pg.JSONB), schema=schema)
    op.add_column("tag_rules", sa.Column("action", sa.Text, nullable=False, server_default="add"), schema=schema)
    op.add_column("tag_rules", sa.Column("priority", sa.Integer, nullable=False, server_default="100"),
                  schema=schema)
    op.add_column("tag_rules", sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
                  schema=schema)
    op.add_column("tag_rules", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                         server_default=sa.func.now()), schema=schema)
    op.add_column("tag_rules", sa.Column("last_run_at", sa.DateTime(timezone=True)), schema=schema)
    op.execute(sa.text(
        f'UPDATE "{schema}".tag_rules SET conditions = jsonb_build_object(\'all\', jsonb_build_array('
        "jsonb_build_object('field', field, 'op', operator, 'value', value)))"
    ))
    op.alter_column("tag_rules", "conditions", nullable=False, schema=schema)
    op.create_check_constraint("ck_tag_rules_action", "tag_rules", "action IN ('add', 'remove')", schema=schema)
    op.add_column("customer_tags", sa.Column("trigger", sa.Text, nullable=False, server_default=""), schema=schema)


def downgrade() -> None:
    schema = current_schema()
    op.drop_column("customer_tags", "trigger", schema=schema)
    op.drop_constraint("ck_tag_rules_action", "tag_rules", schema=schema)
    # Rules the first version cannot express go (their tags stay on customers).
    op.execute(sa.text(f'DELETE FROM "{schema}".tag_rules WHERE field IS NULL OR action <> \'add\' '
                       "OR field NOT IN ('industry', 'region', 'status', 'type', 'name', 'email', 'mobile')"))
    for column in ("last_run_at", "updated_at", "version", "priority", "action", "conditions", "name"):
        op.drop_column("tag_rules", column, schema=schema)
    for column in ("field", "operator", "value"):
        op.alter_column("tag_rules", column, nullable=False, schema=schema)
    op.create_check_constraint("ck_tag_rules_field", "tag_rules",
                               "field IN ('industry', 'region', 'status', 'type', 'name', 'email', 'mobile')",
                               schema=schema)
    op.create_check_constraint("ck_tag_rules_operator", "tag_rules", "operator IN ('equals', 'contains')",
                               schema=schema)
    op.create_check_constraint("ck_tag_rules_value", "tag_rules", "char_length(value) >= 1", schema=schema)
    op.drop_table("rule_orders", schema=T)
    op.drop_table("rule_facts", schema=T)
