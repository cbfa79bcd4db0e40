"""Roles and teams: custom roles (scopes, data scope, field policies), the team tree with managers,
a user's team and a version on users for If-Match.

Revision ID: it0003
Revises: it0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "it0003"
down_revision: str | None = "it0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.create_table(
        "roles",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("data_scope", sa.Text, nullable=False),
        sa.Column("field_policies", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("data_scope in ('own', 'team', 'all')", name="ck_roles_data_scope"),
        schema="tenant",
    )
    op.create_index("uq_roles_name", "roles", [sa.text("lower(name)")], unique=True, schema="tenant")
    op.create_table(
        "teams",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("parent_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.teams.id", ondelete="RESTRICT")),
        sa.Column("manager_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.users.id", ondelete="SET NULL")),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="tenant",
    )
    op.create_index("ix_teams_parent", "teams", ["parent_id"], schema="tenant")
    op.add_column(
        "users",
        sa.Column("team_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.teams.id", ondelete="SET NULL")),
        schema=schema,
    )
    op.add_column("users", sa.Column("version", sa.BigInteger, nullable=False, server_default="1"), schema=schema)
    op.add_column(
        "users", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_schema()
    for column in ("updated_at", "version", "team_id"):
        op.drop_column("users", column, schema=schema)
    op.drop_table("teams", schema="tenant")
    op.drop_table("roles", schema="tenant")
