"""Owner -> team map for data scope `team` on reports, filled from identity's `user.created` /
`user.updated` events by the `reporting-users` consumer (crm_reporting/scope/service.py, the
table shape of crm_platform/user_teams.py). Existing users arrive by the consumer reading the
stream from its start and by identity's it0007, which announces every user once.

Revision ID: r0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "r0002"
down_revision: str | None = "0001"
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
