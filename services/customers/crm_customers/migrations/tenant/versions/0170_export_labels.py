"""Exports keep the words they show people: column headers and value labels in the requester's
language, given by the gateway when the export is asked for (docs/customers.md, "Export").

Revision ID: c0170
Revises: c0120
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0170"
down_revision: str | None = "c0120"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.add_column("customer_exports", sa.Column("labels", pg.JSONB, nullable=False, server_default="{}"),
                  schema=schema)


def downgrade() -> None:
    op.drop_column("customer_exports", "labels", schema=current_schema())
