"""Inbound mail is recorded once per customer, not once per mail (docs/followups.md#email-into-the-timeline):
`inbound_messages.customers` lists the customers a Message-ID was recorded for, so the same mail
delivered again after a named customer became known (a colleague's BCC, a resend) records it for
that customer only. NULL on rows from before: recorded for every customer it named then.

Revision ID: fu0170
Revises: fu0160
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "fu0170"
down_revision: str | None = "fu0160"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()  # ALTER TABLE is not translated like CREATE TABLE
    op.add_column("inbound_messages", sa.Column("customers", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=True),
                  schema=schema)


def downgrade() -> None:
    op.drop_column("inbound_messages", "customers", schema=current_schema())
