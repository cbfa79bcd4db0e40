"""Endpoints get a description (what the receiver is, for the people who manage it).

Revision ID: w0140
Revises: w0035
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "w0140"
down_revision: str | None = "w0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("endpoints", sa.Column("description", sa.Text, nullable=False, server_default=""),
                  schema=current_schema())


def downgrade() -> None:
    op.drop_column("endpoints", "description", schema=current_schema())
