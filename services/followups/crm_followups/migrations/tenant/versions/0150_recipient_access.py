"""Each user's data scope and teams as identity announces them (`access_known`, `data_scope`,
`team_ids` on UserCreated / UserUpdated), so reminders, the digest and escalations only name
customers their recipient may see (crm_followups/reminders/visibility.py).

Revision ID: fu0150
Revises: fu0140
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "fu0150"
down_revision: str | None = "fu0140"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    schema = current_schema()  # ALTER TABLE is not translated like CREATE TABLE
    op.add_column("user_teams", sa.Column("access_known", sa.Boolean, nullable=False, server_default=sa.false()),
                  schema=schema)
    op.add_column("user_teams", sa.Column("data_scope", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("user_teams", sa.Column("team_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False,
                                          server_default="{}"), schema=schema)


def downgrade() -> None:
    schema = current_schema()
    for column in ("team_ids", "data_scope", "access_known"):
        op.drop_column("user_teams", column, schema=schema)
