"""Who created a follow-up task: `tasks.created_by` (user id, "client:<client id>" for an API
client, "" for cadence rules and tasks made before this column), so the customer timeline names them.

Revision ID: fu0003
Revises: fu0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "fu0003"
down_revision: str | None = "fu0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.add_column("tasks", sa.Column("created_by", sa.Text, nullable=False, server_default=""),
                  schema=current_schema())


def downgrade() -> None:
    op.drop_column("tasks", "created_by", schema=current_schema())
