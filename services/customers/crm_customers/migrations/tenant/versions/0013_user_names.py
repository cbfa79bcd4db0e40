"""Users' display names and disabled flag next to `user_teams` (owners shown by name, owner pickers
without disabled users), filled from identity's `user.created` / `user.updated` (customer/users.py);
identity's it0007 announces every existing user once.

Revision ID: c0013
Revises: c0012
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0013"
down_revision: str | None = "c0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    op.add_column("user_teams", sa.Column("display_name", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("user_teams", sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
                  schema=schema)
    # Owner pickers list people by this: the pinyin of a Chinese name (王芳 -> wangfang), else the
    # name in lower case, so 王芳 comes before 张伟 as a Chinese reader expects.
    op.add_column("user_teams", sa.Column("sort_key", sa.Text, nullable=False, server_default=""), schema=schema)


def downgrade() -> None:
    schema = current_schema()
    op.drop_column("user_teams", "sort_key", schema=schema)
    op.drop_column("user_teams", "disabled", schema=schema)
    op.drop_column("user_teams", "display_name", schema=schema)
