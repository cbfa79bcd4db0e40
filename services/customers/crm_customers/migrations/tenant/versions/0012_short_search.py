"""Search for one- and two-character queries.

Trigrams (c0008) need three characters, so a short `q` that matches few customers made the list walk
its sort index to the end (5.6 s at 1,000,000 customers, docs/benchmarks.md). `short_search_grams`
holds the distinct two-character pairs, and the single non-ASCII characters, of the name, contact
person and pinyin initials (lower case, no whitespace), with a GIN index: a short `q` becomes
`short_search_grams @> ARRAY[q]`, which the planner can size from the column's statistics and
read from the index when it is rare. Single ASCII characters are left out: they match nearly every
customer, where walking the sort index finds a first page at once.

Short queries search only these fields (customer/repository.py): two digits of a phone or two
letters of an email match nearly everyone and tell the user nothing.

Revision ID: c0012
Revises: c0011
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0012"
down_revision: str | None = "c0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"

# The text a short query searches: keep in step with `_search` in customer/repository.py.
SHORT_SEARCH_TEXT = "lower(name || ' ' || contact_person || ' ' || name_initials)"


def upgrade() -> None:
    schema = current_schema()
    # IMMUTABLE (a generated column needs it): the result depends on the argument only.
    op.execute(f"""
        CREATE FUNCTION "{schema}".short_search_grams(t text) RETURNS text[]
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT coalesce(array_agg(DISTINCT g), '{{}}')
            FROM (
                SELECT substr(t, i, 2) AS g FROM generate_series(1, length(t) - 1) AS i
                UNION ALL
                SELECT substr(t, i, 1) FROM generate_series(1, length(t)) AS i WHERE ascii(substr(t, i, 1)) > 127
            ) AS grams
            WHERE g !~ '\\s'
        $$
    """)
    op.execute(f'ALTER TABLE "{schema}".customers ADD COLUMN short_search_grams text[] '
               f'GENERATED ALWAYS AS ("{schema}".short_search_grams({SHORT_SEARCH_TEXT})) STORED')
    op.execute(f'CREATE INDEX ix_customers_short_search ON "{schema}".customers USING gin (short_search_grams)')


def downgrade() -> None:
    schema = current_schema()
    op.execute(f'ALTER TABLE "{schema}".customers DROP COLUMN short_search_grams')
    op.execute(f'DROP FUNCTION "{schema}".short_search_grams(text)')
