"""Search: pinyin columns of the name (backfilled here, kept by customer/repository.py on every
write), one generated `search_text` column with a pg_trgm GIN index for `q`, indexes for the
list's common filtered + sorted first pages (measured: docs/benchmarks.md), and saved views.

Needs the pg_trgm extension (the database must allow CREATE EXTENSION; docs/deploy.md).

Revision ID: c0008
Revises: c0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_customers.search.pinyin import search_keys
from crm_platform.migrations import current_schema

revision: str = "c0008"
down_revision: str | None = "c0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"
BACKFILL_BATCH = 5000

# Every text `q` matches (customer/repository.py rechecks per field, so hidden fields never match).
SEARCH_TEXT = (
    "code || ' ' || name || ' ' || name_pinyin || ' ' || name_initials || ' ' || contact_person || ' ' || "
    "mobile || ' ' || phone || ' ' || email || ' ' || credit_code"
)
# (name, columns): btree indexes for filtered, sorted first pages (EXPLAIN ANALYZE in docs/benchmarks.md).
INDEXES: tuple[tuple[str, str], ...] = (
    ("ix_customers_owner_updated", "owner_id, updated_at DESC, id DESC"),
    ("ix_customers_owner_status_updated", "owner_id, status, updated_at DESC, id DESC"),
    ("ix_customers_status_updated", "status, updated_at DESC, id DESC"),
    ("ix_customers_industry_region", "industry, region text_pattern_ops, created_at DESC"),
    ("ix_customers_first_contact", "first_contact_date DESC, id DESC"),
)


def upgrade() -> None:
    schema = current_schema()
    # Tenant schemas migrate in parallel: a concurrent CREATE EXTENSION loses the race harmlessly.
    op.execute("""
        DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
        EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
        END $$;
    """)
    op.add_column("customers", sa.Column("name_pinyin", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("customers", sa.Column("name_initials", sa.Text, nullable=False, server_default=""),
                  schema=schema)
    _backfill(schema)
    op.execute(f'ALTER TABLE "{schema}".customers ADD COLUMN search_text text '
               f"GENERATED ALWAYS AS ({SEARCH_TEXT}) STORED")
    op.execute(f'CREATE INDEX ix_customers_search_trgm ON "{schema}".customers '
               "USING gin (search_text public.gin_trgm_ops)")
    for name, columns in INDEXES:
        op.execute(f'CREATE INDEX {name} ON "{schema}".customers ({columns})')

    op.create_table(
        "customer_views",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        # Principal.actor of the user the view belongs to.
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        # The list's query parameters (validated when saved), e.g. {"status": "won", "cf.level": "A"}.
        sa.Column("filters", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("order_by", sa.Text, nullable=False, server_default=""),
        sa.Column("columns", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("owner", "name", name="uq_customer_views_owner_name"),
        schema=T,
    )


def _backfill(schema: str) -> None:
    """Pinyin for the names already stored (Chinese names only; others keep "")."""
    bind = op.get_bind()
    last = None
    while True:
        query = f'SELECT id, name FROM "{schema}".customers'
        params: dict[str, object] = {"n": BACKFILL_BATCH}
        if last is not None:
            query += " WHERE id > :last"
            params["last"] = last
        rows = bind.execute(sa.text(query + " ORDER BY id LIMIT :n"), params).all()
        if not rows:
            return
        updates = [
            {"id": row.id, "p": full, "i": initials}
            for row in rows
            for full, initials in [search_keys(row.name)]
            if full or initials
        ]
        if updates:
            bind.execute(
                sa.text(f'UPDATE "{schema}".customers SET name_pinyin = :p, name_initials = :i WHERE id = :id'),
                updates,
            )
        last = rows[-1].id


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("customer_views", schema=T)
    for name, _ in INDEXES:
        op.execute(f'DROP INDEX IF EXISTS "{schema}".{name}')
    op.execute(f'ALTER TABLE "{schema}".customers DROP COLUMN search_text')
    op.drop_column("customers", "name_initials", schema=schema)
    op.drop_column("customers", "name_pinyin", schema=schema)
