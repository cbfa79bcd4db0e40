"""`customer_facts` read in parallel and in fewer columns:

- The live value metrics (a stale or multi-currency facts row reads its orders) become SQL
  functions marked PARALLEL SAFE. As a correlated subquery in the count's condition they made the
  planner run every spend or orders segment count on one core (a correlated SubPlan is
  parallel-restricted): the count of "tag 30 % NOT tag 10 % + spend >= 10,000" took 236 ms p95 at
  1,000,000 customers where a tag-only count took ~100 ms in parallel. Their bodies are
  crm_customers/metrics/repository.py `live_value` (orders counted as spend: kind order, confirmed
  or paid, in the last 365 / 30 days); tests/customers/test_customer_facts.py compares them.
- The table is rebuilt with the columns most counts read first (deleted_at, tag_ids, the metric
  columns): PostgreSQL decodes a row's columns up to the last one a condition reads, so a tag count
  now decodes two columns instead of ten, a metric count eight instead of 15-17 (c0240 had the
  metrics last). The rebuild also leaves the table compact.

Revision ID: c0261
Revises: c0240
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0261"
down_revision: str | None = "c0240"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL decodes a row's columns up to the last one the count's condition names, so the
# columns most counts read come first: deleted_at (every count), tags, the value metrics and the
# id their live figure needs, then status, owner and custom fields, then the rest.
# crm_customers/customer/facts.py declares the same.
COLUMNS = """
    deleted_at timestamptz,
    tag_ids uuid[] NOT NULL,
    spend_stale_from date,
    orders_stale_from date,
    orders_30d integer NOT NULL DEFAULT 0,
    -- NULL: no spend counted in the window (0 in every currency); '*': in several currencies
    -- (a count reads those from the orders, like stale ones).
    spend_currency text,
    spend_12m numeric(20, 4),
    id uuid PRIMARY KEY,
    status text NOT NULL,
    owner_id uuid,
    custom_fields jsonb NOT NULL,
    industry text NOT NULL,
    region text NOT NULL,
    source text NOT NULL,
    type text NOT NULL,
    value_segment text NOT NULL,
    created_at timestamptz NOT NULL"""
NAMES = ("deleted_at", "tag_ids", "spend_stale_from", "orders_stale_from", "orders_30d", "spend_currency",
         "spend_12m", "id", "status", "owner_id", "custom_fields", "industry", "region", "source", "type",
         "value_segment", "created_at")


def upgrade() -> None:
    s = current_schema()
    # STABLE (current_date), PARALLEL SAFE (reads only); not inlined (a FROM clause), so each stays
    # one call per stale row. COST 1: called for the few stale rows only, not for every row the
    # CASE sees (the default 100 per row would price a count like a hundred million operations).
    op.execute(f"""
        CREATE FUNCTION "{s}".customer_live_spend_12m(customer uuid, in_currency text) RETURNS numeric
        LANGUAGE sql STABLE PARALLEL SAFE COST 1 AS $$
            SELECT coalesce(sum(amount), 0) FROM "{s}".orders
            WHERE customer_id = customer AND kind = 'order' AND status IN ('confirmed', 'paid')
              AND ordered_on > current_date - 365 AND currency = in_currency
        $$""")
    op.execute(f"""
        CREATE FUNCTION "{s}".customer_live_orders_30d(customer uuid) RETURNS bigint
        LANGUAGE sql STABLE PARALLEL SAFE COST 1 AS $$
            SELECT count(*) FROM "{s}".orders
            WHERE customer_id = customer AND kind = 'order' AND status IN ('confirmed', 'paid')
              AND ordered_on > current_date - 30
        $$""")
    # The triggers (c0240) name the table and its columns, not their positions: they write the
    # rebuilt table as they wrote the old one.
    names = ", ".join(NAMES)
    op.execute(f'CREATE TABLE "{s}".customer_facts_rebuilt ({COLUMNS}) WITH (fillfactor = 90)')
    op.execute(f'INSERT INTO "{s}".customer_facts_rebuilt ({names}) SELECT {names} FROM "{s}".customer_facts')
    op.execute(f'DROP TABLE "{s}".customer_facts')
    op.execute(f'ALTER TABLE "{s}".customer_facts_rebuilt RENAME TO customer_facts')
    op.execute(f'ALTER INDEX "{s}".customer_facts_rebuilt_pkey RENAME TO customer_facts_pkey')
    op.execute(f'CREATE INDEX ix_customer_facts_owner ON "{s}".customer_facts (owner_id)')
    op.execute(f'ANALYZE "{s}".customer_facts')


def downgrade() -> None:
    s = current_schema()
    # The column order stays (nothing reads positions); the counts go back to the subqueries.
    op.execute(f'DROP FUNCTION "{s}".customer_live_orders_30d(uuid)')
    op.execute(f'DROP FUNCTION "{s}".customer_live_spend_12m(uuid, text)')
