"""A company name's one-deletion neighbourhood (`name_del`, duplicates/keys.py `deletions`) as one
array per customer with a GIN index, instead of ~15 rows of `customer_match_keys` per customer.
Those rows (a heap tuple and two btree entries each) cost ~80 us of PostgreSQL CPU per imported
customer (docs/benchmarks.md "Customer import"); the GIN takes the same values in its pending list
and merges them in sorted batches. Duplicate detection looks a name's probes up with
`deletions && probes` (duplicates/repository.py `matching_keys`).

Deleting customer rows deletes their neighbourhood too (c0210's statement-level trigger, extended).

Revision ID: c0252
Revises: c0251
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0252"
down_revision: str | None = "c0251"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _cascade(schema: str, *tables: str) -> str:
    deletes = "\n".join(f'DELETE FROM "{schema}".{t} AS k USING gone WHERE k.customer_id = gone.id;' for t in tables)
    return f"""
        CREATE OR REPLACE FUNCTION "{schema}".customer_match_keys_cascade() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            {deletes}
            RETURN NULL;
        END $$
    """


def upgrade() -> None:
    schema = current_schema()
    op.execute(f'CREATE TABLE "{schema}".customer_name_deletions (customer_id uuid PRIMARY KEY, '
               "deletions text[] NOT NULL)")
    op.execute(f'INSERT INTO "{schema}".customer_name_deletions (customer_id, deletions) '
               f'SELECT customer_id, array_agg(value ORDER BY value) FROM "{schema}".customer_match_keys '
               "WHERE kind = 'name_del' GROUP BY customer_id")
    op.execute(f"DELETE FROM \"{schema}\".customer_match_keys WHERE kind = 'name_del'")
    op.execute(f'CREATE INDEX ix_customer_name_deletions ON "{schema}".customer_name_deletions USING gin (deletions)')
    op.execute(_cascade(schema, "customer_match_keys", "customer_name_deletions"))


def downgrade() -> None:
    schema = current_schema()
    op.execute(_cascade(schema, "customer_match_keys"))
    op.execute(f'INSERT INTO "{schema}".customer_match_keys (customer_id, kind, value) '
               f"SELECT customer_id, 'name_del', unnest(deletions) FROM \"{schema}\".customer_name_deletions "
               "ON CONFLICT DO NOTHING")
    op.execute(f'DROP TABLE "{schema}".customer_name_deletions')
