"""Reviewable duplicate groups: each group's component size, and a flag for a component too large
to review as one group (duplicates/grouping.py keeps a sample of its members). Existing groups get
their member count and no flag.

Revision ID: c0055
Revises: c0035
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0055"
down_revision: str | None = "c0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    op.add_column("duplicate_groups", sa.Column("size", sa.Integer, nullable=False, server_default="0"), schema=schema)
    op.add_column("duplicate_groups", sa.Column("too_large", sa.Boolean, nullable=False, server_default=sa.false()),
                  schema=schema)
    op.execute(
        f'UPDATE "{schema}".duplicate_groups g SET size = '
        f'(SELECT count(*) FROM "{schema}".duplicate_group_members m WHERE m.group_id = g.id)'
    )


def downgrade() -> None:
    schema = current_schema()
    op.drop_column("duplicate_groups", "too_large", schema=schema)
    op.drop_column("duplicate_groups", "size", schema=schema)
