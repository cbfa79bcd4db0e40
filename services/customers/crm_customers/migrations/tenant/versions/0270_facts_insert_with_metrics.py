"""`customer_facts` on INSERT into customers: one INSERT with the value metrics joined in, instead of
an INSERT and then an UPDATE of the rows just inserted (c0240's `customer_facts_metrics`). A new
customer has no metrics, so that UPDATE rewrote every new facts row with the values it already had:
a second row version per create (and per imported customer) for vacuum to remove, and part of each
create's PostgreSQL time (docs/benchmarks.md, "API hot paths"). A facts row that exists already
(never, for a new customer id) still gets its metrics refreshed and keeps its copied columns, as
before. UPDATE and DELETE are unchanged.

Revision ID: c0270
Revises: c0240
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0270"
down_revision: str | None = "c0261"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# c0240's copied columns (crm_customers/customer/facts.py declares the same).
COPIED = ("id", "owner_id", "status", "industry", "region", "source", "type", "created_at", "deleted_at",
          "tag_ids", "custom_fields", "value_segment")
METRICS = ("spend_currency", "spend_12m", "spend_stale_from", "orders_30d", "orders_stale_from")


def _function(schema: str, on_insert: str) -> str:
    assigned = ", ".join(f"{c} = n.{c}" for c in COPIED if c != "id")
    return f"""
        CREATE OR REPLACE FUNCTION "{schema}".customer_facts_from_customers() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {on_insert}
            ELSIF TG_OP = 'UPDATE' THEN
                UPDATE "{schema}".customer_facts f SET {assigned} FROM new_rows n WHERE f.id = n.id;
            ELSE
                DELETE FROM "{schema}".customer_facts f USING old_rows o WHERE f.id = o.id;
            END IF;
            RETURN NULL;
        END $$"""


def upgrade() -> None:
    s = current_schema()
    columns = ", ".join((*COPIED, *METRICS))
    copied = ", ".join(f"n.{c}" for c in COPIED)
    refreshed = ", ".join(f"{c} = excluded.{c}" for c in METRICS)
    # The metrics as customer_facts_metrics computes them: NULL currency when no spend is counted,
    # '*' when in several currencies.
    op.execute(_function(s, f"""
                INSERT INTO "{s}".customer_facts ({columns})
                SELECT {copied}, m.currency, m.amount, m.stale_from, coalesce(o.orders, 0), o.stale_from
                FROM new_rows n
                CROSS JOIN LATERAL (
                    SELECT CASE count(*) WHEN 0 THEN NULL WHEN 1 THEN min(sp.currency) ELSE '*' END AS currency,
                           CASE WHEN count(*) = 1 THEN min(sp.amount) END AS amount,
                           min(sp.stale_from) AS stale_from
                    FROM "{s}".customer_spend_12m sp WHERE sp.customer_id = n.id) m
                LEFT JOIN "{s}".customer_orders_30d o ON o.customer_id = n.id
                ON CONFLICT (id) DO UPDATE SET {refreshed}
                WHERE ({", ".join(f"customer_facts.{c}" for c in METRICS)})
                      IS DISTINCT FROM ({", ".join(f"excluded.{c}" for c in METRICS)});"""))


def downgrade() -> None:
    s = current_schema()
    columns = ", ".join(COPIED)
    op.execute(_function(s, f"""
                INSERT INTO "{s}".customer_facts ({columns}) SELECT {columns} FROM new_rows
                ON CONFLICT (id) DO NOTHING;
                PERFORM "{s}".customer_facts_metrics(ARRAY(SELECT id FROM new_rows));"""))
