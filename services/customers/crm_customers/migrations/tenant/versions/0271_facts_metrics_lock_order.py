"""`customer_facts_metrics` (c0240) locks the facts rows it refreshes in id order before updating
them. The update alone locked them in whatever order its join produced, so a 1,000-order batch
(which refreshes the metrics of every customer it names) and the value segment consumer (which
updates customers, and through c0240's trigger their facts rows, one after another) could each
hold a row the other wanted next: PostgreSQL cancelled one with "deadlock detected", and the
batch answered 500 (docs/benchmarks.md, "API hot paths"). The consumer now updates in id order
too (value_segments/column.py), so both take their rows in one order.

Revision ID: c0271
Revises: c0270
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0271"
down_revision: str | None = "c0270"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _function(schema: str, lock: str) -> str:
    s = schema
    return f"""
        CREATE OR REPLACE FUNCTION "{s}".customer_facts_metrics(ids uuid[]) RETURNS void LANGUAGE sql AS $$
            {lock}
            UPDATE "{s}".customer_facts f
            SET spend_currency = m.currency, spend_12m = m.amount, spend_stale_from = m.stale_from,
                orders_30d = coalesce(o.orders, 0), orders_stale_from = o.stale_from
            FROM (SELECT c.id,
                         CASE count(s.customer_id) WHEN 0 THEN NULL WHEN 1 THEN min(s.currency) ELSE '*' END
                             AS currency,
                         CASE WHEN count(s.customer_id) = 1 THEN min(s.amount) END AS amount,
                         min(s.stale_from) AS stale_from
                  FROM unnest(ids) AS c(id) LEFT JOIN "{s}".customer_spend_12m s ON s.customer_id = c.id
                  GROUP BY c.id) m
            LEFT JOIN "{s}".customer_orders_30d o ON o.customer_id = m.id
            WHERE f.id = m.id
        $$"""


def upgrade() -> None:
    s = current_schema()
    op.execute(_function(s, f'SELECT 1 FROM "{s}".customer_facts WHERE id = ANY(ids) ORDER BY id FOR UPDATE;'))


def downgrade() -> None:
    op.execute(_function(current_schema(), ""))
