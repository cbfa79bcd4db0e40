"""Webhook endpoints' field policies (reserved for that work).

Revision ID: w0002
Revises: w0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "w0002"
down_revision: str | None = "w0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


STATUSES_BEFORE = "status IN ('pending', 'succeeded', 'failed', 'dead')"
STATUSES = "status IN ('pending', 'succeeded', 'failed', 'dead', 'cancelled')"


def upgrade() -> None:
    schema = current_schema()
    # The field policies of the token that created (or last updated) the endpoint, and fields the
    # endpoint hides on top of them: applied to every customer payload before it is stored.
    op.add_column("endpoints", sa.Column("field_policies", pg.JSONB, nullable=False,
                                         server_default=sa.text("'{}'::jsonb")), schema=schema)
    op.add_column("endpoints", sa.Column("hidden_fields", pg.ARRAY(sa.Text), nullable=False,
                                         server_default="{}"), schema=schema)
    # Who set the policies (user id or client:<id>), and when.
    op.add_column("endpoints", sa.Column("policies_set_by", sa.Text, nullable=False, server_default=""),
                  schema=schema)
    op.add_column("endpoints", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                                         server_default=sa.func.now()), schema=schema)
    # Customer erasure: deliveries about an erased customer are cancelled and their payloads purged.
    op.add_column("deliveries", sa.Column("payload_purged_at", sa.DateTime(timezone=True)), schema=schema)
    op.execute(f'''ALTER TABLE "{schema}".deliveries DROP CONSTRAINT ck_deliveries_status''')
    op.execute(f'''ALTER TABLE "{schema}".deliveries ADD CONSTRAINT ck_deliveries_status CHECK ({STATUSES})''')


def downgrade() -> None:
    schema = current_schema()
    op.execute(f"""UPDATE "{schema}".deliveries SET status = 'dead' WHERE status = 'cancelled'""")
    op.execute(f'''ALTER TABLE "{schema}".deliveries DROP CONSTRAINT ck_deliveries_status''')
    op.execute(
        f'''ALTER TABLE "{schema}".deliveries ADD CONSTRAINT ck_deliveries_status CHECK ({STATUSES_BEFORE})'''
    )
    op.drop_column("deliveries", "payload_purged_at", schema=schema)
    for column in ("updated_at", "policies_set_by", "hidden_fields", "field_policies"):
        op.drop_column("endpoints", column, schema=schema)
