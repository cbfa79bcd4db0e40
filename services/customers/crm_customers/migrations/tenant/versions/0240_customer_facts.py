"""`customer_facts`: one narrow row per customer (~210 bytes against the customers row's ~900)
holding what a segment or list count filters on besides text search: owner, status, industry,
region, source, type, created and deleted times, tags, custom fields, value segment, and the value
metrics (spend in the last 12 months when it is in one currency, orders in the last 30 days, each
with the day its figure goes stale). An exact count is then one (parallel) scan of this table
instead of probes into the wide customers rows (docs/benchmarks.md, "Segment live counts").

Kept by statement-level triggers in the writing transaction, so it is never behind and has one
source of truth: the customers row (every writer: create, update, merge, import, the tag
projection's `tag_ids`, the value segment consumer) and the value metrics projection
(`customer_spend_12m`, `customer_orders_30d`, c0200). Backfilled here.

Revision ID: c0240
Revises: c0252
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0240"
down_revision: str | None = "c0252"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The customers columns copied (crm_customers/customer/facts.py declares the same).
COPIED = ("id", "owner_id", "status", "industry", "region", "source", "type", "created_at", "deleted_at",
          "tag_ids", "custom_fields", "value_segment")


def upgrade() -> None:
    s = current_schema()
    columns = ", ".join(COPIED)
    assigned = ", ".join(f"{c} = n.{c}" for c in COPIED if c != "id")
    op.execute(f"""
        CREATE TABLE "{s}".customer_facts (
            id uuid PRIMARY KEY,
            owner_id uuid,
            status text NOT NULL,
            industry text NOT NULL,
            region text NOT NULL,
            source text NOT NULL,
            type text NOT NULL,
            created_at timestamptz NOT NULL,
            deleted_at timestamptz,
            tag_ids uuid[] NOT NULL,
            custom_fields jsonb NOT NULL,
            value_segment text NOT NULL,
            -- NULL: no spend counted in the window (0 in every currency); '*': in several currencies
            -- (a count reads those from the orders, like stale ones).
            spend_currency text,
            spend_12m numeric(20, 4),
            spend_stale_from date,
            orders_30d integer NOT NULL DEFAULT 0,
            orders_stale_from date
        ) WITH (fillfactor = 90)""")
    # A reader with data scope own or team counts a few owners' rows, not the whole table.
    op.execute(f'CREATE INDEX ix_customer_facts_owner ON "{s}".customer_facts (owner_id)')
    # Refreshes the metric columns of these customers from the projection tables.
    op.execute(f"""
        CREATE FUNCTION "{s}".customer_facts_metrics(ids uuid[]) RETURNS void LANGUAGE sql AS $$
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
        $$""")
    op.execute(f"""
        CREATE FUNCTION "{s}".customer_facts_from_customers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO "{s}".customer_facts ({columns}) SELECT {columns} FROM new_rows
                ON CONFLICT (id) DO NOTHING;
                PERFORM "{s}".customer_facts_metrics(ARRAY(SELECT id FROM new_rows));
            ELSIF TG_OP = 'UPDATE' THEN
                UPDATE "{s}".customer_facts f SET {assigned} FROM new_rows n WHERE f.id = n.id;
            ELSE
                DELETE FROM "{s}".customer_facts f USING old_rows o WHERE f.id = o.id;
            END IF;
            RETURN NULL;
        END $$""")
    for event, transition in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "NEW TABLE AS new_rows"),
                              ("DELETE", "OLD TABLE AS old_rows")):
        op.execute(f"""
            CREATE TRIGGER customer_facts_{event.lower()} AFTER {event} ON "{s}".customers
            REFERENCING {transition} FOR EACH STATEMENT
            EXECUTE FUNCTION "{s}".customer_facts_from_customers()""")
    op.execute(f"""
        CREATE FUNCTION "{s}".customer_facts_from_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM "{s}".customer_facts_metrics(ARRAY(SELECT DISTINCT customer_id FROM old_rows));
            ELSE
                PERFORM "{s}".customer_facts_metrics(ARRAY(SELECT DISTINCT customer_id FROM new_rows));
            END IF;
            RETURN NULL;
        END $$""")
    for table in ("customer_spend_12m", "customer_orders_30d"):
        for event, transition in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "NEW TABLE AS new_rows"),
                                  ("DELETE", "OLD TABLE AS old_rows")):
            op.execute(f"""
                CREATE TRIGGER customer_facts_{event.lower()} AFTER {event} ON "{s}".{table}
                REFERENCING {transition} FOR EACH STATEMENT
                EXECUTE FUNCTION "{s}".customer_facts_from_metrics()""")
    # One INSERT with the metrics joined in (updating the rows afterwards would leave a dead row
    # for every customer with orders until vacuum).
    copied = ", ".join(f"c.{c}" for c in COPIED)
    op.execute(f"""
        INSERT INTO "{s}".customer_facts ({columns}, spend_currency, spend_12m, spend_stale_from, orders_30d,
                                          orders_stale_from)
        SELECT {copied}, m.currency, m.amount, m.stale_from, coalesce(o.orders, 0), o.stale_from
        FROM "{s}".customers c
        LEFT JOIN (SELECT customer_id, CASE count(*) WHEN 1 THEN min(currency) ELSE '*' END AS currency,
                          CASE WHEN count(*) = 1 THEN min(amount) END AS amount, min(stale_from) AS stale_from
                   FROM "{s}".customer_spend_12m GROUP BY customer_id) m ON m.customer_id = c.id
        LEFT JOIN "{s}".customer_orders_30d o ON o.customer_id = c.id""")
    op.execute(f'ANALYZE "{s}".customer_facts')


def downgrade() -> None:
    s = current_schema()
    for table in ("customers", "customer_spend_12m", "customer_orders_30d"):
        for event in ("insert", "update", "delete"):
            op.execute(f'DROP TRIGGER customer_facts_{event} ON "{s}".{table}')
    op.execute(f'DROP FUNCTION "{s}".customer_facts_from_metrics()')
    op.execute(f'DROP FUNCTION "{s}".customer_facts_from_customers()')
    op.execute(f'DROP FUNCTION "{s}".customer_facts_metrics(uuid[])')
    op.execute(f'DROP TABLE "{s}".customer_facts')
