"""Escalation to the team's manager, the tenant's default escalation, and merges that move records,
feedback and surveys (docs/followups.md, "Escalation" and "Merges"):

- `user_teams.team_manager_id` / `team_manager_known`: the manager of the user's team as identity's
  user events announce it (UserCreated / UserUpdated fields 101, 102);
- the tenant's `escalate_after_days` lives in `followup_settings` (key/value, no change here);
- `merge_row_moves`: every record, feedback and survey a merge re-pointed to its survivor and the
  customer it came from, so an undo gives them back (tasks keep `merge_task_moves`).

Revision ID: fu0160
Revises: fu0150
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "fu0160"
down_revision: str | None = "fu0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()  # ALTER TABLE is not translated like CREATE TABLE
    op.add_column("user_teams", sa.Column("team_manager_id", pg.UUID(as_uuid=True)), schema=schema)
    op.add_column("user_teams", sa.Column("team_manager_known", sa.Boolean, nullable=False,
                                          server_default=sa.false()), schema=schema)
    op.create_table(
        "merge_row_moves",
        sa.Column("merge_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("row_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("merge_id", "kind", "row_id", name="pk_merge_row_moves"),
        schema=T,
    )


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("merge_row_moves", schema=T)
    for column in ("team_manager_known", "team_manager_id"):
        op.drop_column("user_teams", column, schema=schema)
