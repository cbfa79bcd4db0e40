"""Contact persons as match keys (`contact`, duplicates/keys.py): not a link by themselves, their
count says whether a contact name is common (张伟) or corroborates a name match. Backfilled here
for existing customers with the same function as every write.

Revision ID: c0056
Revises: c0055
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_customers.duplicates.keys import contact_key
from crm_platform.migrations import current_schema

revision: str = "c0056"
down_revision: str | None = "c0055"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"

BACKFILL_BATCH = 5000


def upgrade() -> None:
    schema = current_schema()
    bind = op.get_bind()
    after = None
    while True:
        where = "AND id > :after" if after is not None else ""
        rows = bind.execute(sa.text(
            f'SELECT id, contact_person FROM "{schema}".customers WHERE contact_person <> \'\' {where} '
            f"ORDER BY id LIMIT {BACKFILL_BATCH}"
        ), {"after": after}).all()
        if not rows:
            return
        values = [{"c": r.id, "v": contact_key(r.contact_person)} for r in rows if contact_key(r.contact_person)]
        if values:
            bind.execute(sa.text(
                f'INSERT INTO "{schema}".customer_match_keys (customer_id, kind, value) '
                "VALUES (:c, 'contact', :v) ON CONFLICT DO NOTHING"
            ), values)
        after = rows[-1].id


def downgrade() -> None:
    schema = current_schema()
    op.execute(f'DELETE FROM "{schema}".customer_match_keys WHERE kind = \'contact\'')
