"""`short_search_grams` (c0012) becomes a plain column kept by a trigger, so that a bulk writer
can give it: the customer import computes it in Python (search/grams.py, ~5 us per row in the
importing process) instead of PostgreSQL's ~38 us per row (c0211's function), the largest single
cost of inserting a customer row (docs/benchmarks.md "Customer import").

On INSERT the trigger computes it when the row does not give it (every writer but the import);
on UPDATE it is recomputed when the name, contact person or name initials change, and otherwise
kept as it was (an UPDATE cannot set it). The stored values stay as they are.

Revision ID: c0251
Revises: c0250
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0251"
down_revision: str | None = "c0250"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text whose grams are kept: c0012's SHORT_SEARCH_TEXT (search/grams.py `short_search_text`).
SHORT_SEARCH_TEXT = "lower(NEW.name || ' ' || NEW.contact_person || ' ' || NEW.name_initials)"


def upgrade() -> None:
    schema = current_schema()
    op.execute(f'ALTER TABLE "{schema}".customers ALTER COLUMN short_search_grams DROP EXPRESSION')
    op.execute(f"""
        CREATE FUNCTION "{schema}".customers_short_search_grams() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NEW.short_search_grams IS NULL THEN
                    NEW.short_search_grams := "{schema}".short_search_grams({SHORT_SEARCH_TEXT});
                END IF;
            ELSIF NEW.name IS DISTINCT FROM OLD.name OR NEW.contact_person IS DISTINCT FROM OLD.contact_person
                  OR NEW.name_initials IS DISTINCT FROM OLD.name_initials THEN
                NEW.short_search_grams := "{schema}".short_search_grams({SHORT_SEARCH_TEXT});
            ELSE
                NEW.short_search_grams := OLD.short_search_grams;
            END IF;
            RETURN NEW;
        END
        $$""")
    op.execute(f'CREATE TRIGGER customers_short_search_grams BEFORE INSERT OR UPDATE ON "{schema}".customers '
               f'FOR EACH ROW EXECUTE FUNCTION "{schema}".customers_short_search_grams()')


def downgrade() -> None:
    schema = current_schema()
    op.execute(f'DROP TRIGGER customers_short_search_grams ON "{schema}".customers')
    op.execute(f'DROP FUNCTION "{schema}".customers_short_search_grams()')
    op.execute(f'ALTER TABLE "{schema}".customers DROP COLUMN short_search_grams')
    op.execute(f'ALTER TABLE "{schema}".customers ADD COLUMN short_search_grams text[] GENERATED ALWAYS AS '
               f"(\"{schema}\".short_search_grams(lower(name || ' ' || contact_person || ' ' || name_initials))) "
               "STORED")
    op.execute(f'CREATE INDEX ix_customers_short_search ON "{schema}".customers USING gin (short_search_grams)')
