"""Customers.

Revision ID: c0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "c0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("customer_code_seq", schema="tenant")))
    op.create_table(
        "customers",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("industry", sa.Text, nullable=False, server_default=""),
        sa.Column("region", sa.Text, nullable=False, server_default=""),
        sa.Column("mobile", sa.Text, nullable=False, server_default=""),
        sa.Column("email", sa.Text, nullable=False, server_default=""),
        sa.Column("owner_id", pg.UUID(as_uuid=True)),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        schema="tenant",
    )
    op.create_index("uq_customers_code", "customers", ["code"], unique=True, schema="tenant")
    op.create_index("ix_customers_created", "customers", [sa.text("created_at DESC"), sa.text("id DESC")],
                    schema="tenant")
    op.create_index("ix_customers_industry", "customers", ["industry", sa.text("created_at DESC")],
                    schema="tenant")


def downgrade() -> None:
    op.drop_table("customers", schema="tenant")
    op.execute(sa.schema.DropSequence(sa.Sequence("customer_code_seq", schema="tenant")))
