"""Owner -> team map for data scope `team`, filled from identity's `user.created` / `user.updated`
events by the `customers-users` consumer (crm_customers/customer/users.py).

Revision ID: c0004
Revises: c0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql as pg

revision: str = "c0004"
down_revision: str | None = "c0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "user_teams",
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("team_id", pg.UUID(as_uuid=True)),
        # The user's version in identity: an older event never overwrites a newer one.
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=T,
    )
    op.create_index("ix_user_teams_team", "user_teams", ["team_id"], schema=T)


def downgrade() -> None:
    op.drop_table("user_teams", schema=T)
