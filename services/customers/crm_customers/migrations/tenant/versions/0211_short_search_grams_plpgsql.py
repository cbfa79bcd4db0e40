"""`short_search_grams` (c0012) as a PL/pgSQL loop: the same arrays, at ~38 instead of ~66 us per
call (backend CPU, 20,000 names). It is the generated column `short_search_grams` of every
customers write, and was the largest single cost of inserting a customer row (~100 of ~200 us,
docs/benchmarks.md "Customer import"). tests/customers/test_search.py compares it with c0012's
body on names with every kind of whitespace.

Stored values stay valid: the function gives the same result for every input.

Revision ID: c0211
Revises: c0210
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0211"
down_revision: str | None = "c0210"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# c0012's body (the downgrade restores it; the test compares against it).
SQL_BODY = """
    SELECT coalesce(array_agg(DISTINCT g), '{}')
    FROM (
        SELECT substr(t, i, 2) AS g FROM generate_series(1, length(t) - 1) AS i
        UNION ALL
        SELECT substr(t, i, 1) FROM generate_series(1, length(t)) AS i WHERE ascii(substr(t, i, 1)) > 127
    ) AS grams
    WHERE g !~ '\\s'
"""

PLPGSQL_BODY = """
    DECLARE
        n integer := length(t);
        g text;
        found text[] := '{}';
    BEGIN
        FOR i IN 1 .. n - 1 LOOP
            g := substr(t, i, 2);
            IF g !~ '\\s' THEN
                found := found || g;
            END IF;
        END LOOP;
        FOR i IN 1 .. n LOOP
            g := substr(t, i, 1);
            IF ascii(g) > 127 AND g !~ '\\s' THEN
                found := found || g;
            END IF;
        END LOOP;
        RETURN coalesce((SELECT array_agg(DISTINCT x) FROM unnest(found) AS x), '{}');
    END
"""


def upgrade() -> None:
    schema = current_schema()
    op.execute(f'CREATE OR REPLACE FUNCTION "{schema}".short_search_grams(t text) RETURNS text[] '
               f"LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $${PLPGSQL_BODY}$$")


def downgrade() -> None:
    schema = current_schema()
    op.execute(f'CREATE OR REPLACE FUNCTION "{schema}".short_search_grams(t text) RETURNS text[] '
               f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $${SQL_BODY}$$")
