"""Match keys without a per-row foreign key check: the import writes ~17 key rows per customer
(the `name_del` neighbourhood), and the foreign key's check on each (a `SELECT ... FOR KEY SHARE`
of the customer per key row) cost ~3/4 of writing them: ~4 s of every 5 s per batch of 2,000
imported customers (auto_explain, docs/benchmarks.md "Customer import").

Keys are written only by code that has just written their customer in the same transaction
(duplicates/check.py, the import), and every read joins or filters live customers. What the
foreign key did besides checking, removing a customer's keys when the customer row is deleted
(erasure), is kept by a statement-level trigger on customers.

Revision ID: c0210
Revises: c0200
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0210"
down_revision: str | None = "c0200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.execute(f'ALTER TABLE "{schema}".customer_match_keys DROP CONSTRAINT customer_match_keys_customer_id_fkey')
    op.execute(f"""
        CREATE FUNCTION "{schema}".customer_match_keys_cascade() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM "{schema}".customer_match_keys AS k USING gone WHERE k.customer_id = gone.id;
            RETURN NULL;
        END $$
    """)
    op.execute(f'CREATE TRIGGER customers_match_keys_cascade AFTER DELETE ON "{schema}".customers '
               "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
               f'EXECUTE FUNCTION "{schema}".customer_match_keys_cascade()')


def downgrade() -> None:
    schema = current_schema()
    op.execute(f'DROP TRIGGER customers_match_keys_cascade ON "{schema}".customers')
    op.execute(f'DROP FUNCTION "{schema}".customer_match_keys_cascade()')
    op.execute(f'DELETE FROM "{schema}".customer_match_keys AS k WHERE NOT EXISTS '
               f'(SELECT 1 FROM "{schema}".customers AS c WHERE c.id = k.customer_id)')
    op.execute(f'ALTER TABLE "{schema}".customer_match_keys ADD CONSTRAINT customer_match_keys_customer_id_fkey '
               f'FOREIGN KEY (customer_id) REFERENCES "{schema}".customers (id) ON DELETE CASCADE')
