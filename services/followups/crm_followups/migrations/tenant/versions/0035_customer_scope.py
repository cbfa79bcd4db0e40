"""Data scope on follow-ups: followups' projections of who owns each customer (`customer_scope`,
from customers' events: owner, soft-deleted, version) and of each owner's team (`user_teams`, from
identity's user events), read by crm_followups/access.py (crm_platform/customer_scope.py).

Both are filled by durable consumers reading the event stream from its start; customers and users
whose last event is older than the stream's retention arrive with their next change (docs/followups.md,
"Data scope"), and single-task operations ask the customers service meanwhile.

Revision ID: fu0035
Revises: fu0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "fu0035"
down_revision: str | None = "fu0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "customer_scope",
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_id", pg.UUID(as_uuid=True)),
        sa.Column("deleted", sa.Boolean, nullable=False),
        # The customer's version in customers: an older event never overwrites a newer one.
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    # A rep's or manager's task list: the visible owners' customers first.
    op.create_index("ix_customer_scope_owner", "customer_scope", ["owner_id", "customer_id"], schema=T)
    op.create_table(
        "user_teams",
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("team_id", pg.UUID(as_uuid=True)),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=T,
    )
    op.create_index("ix_user_teams_team", "user_teams", ["team_id"], schema=T)


def downgrade() -> None:
    op.drop_table("user_teams", schema=T)
    op.drop_table("customer_scope", schema=T)
