"""Sensitive fields: resident ID and bank card stored encrypted (AES-GCM under the tenant's data
key) with a blind index (HMAC-SHA256) and the masked form; the tenant's wrapped data key; the
append-only reveal audit.

Revision ID: c0003
Revises: c0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema
from sqlalchemy.dialects import postgresql as pg

revision: str = "c0003"
down_revision: str | None = "c0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"
SENSITIVE = ("resident_id", "bank_card")


def upgrade() -> None:
    schema = current_schema()
    for name in SENSITIVE:
        op.add_column("customers", sa.Column(f"{name}_enc", sa.LargeBinary), schema=schema)
        op.add_column("customers", sa.Column(f"{name}_bidx", sa.Text), schema=schema)
        op.add_column("customers", sa.Column(f"{name}_masked", sa.Text, nullable=False, server_default=""),
                      schema=schema)
        op.create_index(f"ix_customers_{name}_bidx", "customers", [f"{name}_bidx"], schema=T,
                        postgresql_where=sa.text(f"{name}_bidx IS NOT NULL"))

    op.create_table(
        "data_keys",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("wrapper", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )

    op.create_table(
        "reveal_audit",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("fields", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("client_id", sa.Text, nullable=False, server_default=""),
        sa.Column("ip", sa.Text, nullable=False, server_default=""),
        sa.Column("user_agent", sa.Text, nullable=False, server_default=""),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    op.create_index("ix_reveal_audit_customer", "reveal_audit", ["customer_id", sa.text("revealed_at DESC")],
                    schema=T)
    # Append-only: UPDATE and DELETE are refused by the database itself.
    op.execute(f"""
        CREATE FUNCTION "{schema}".reveal_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'reveal_audit is append-only';
        END $$;
    """)
    op.execute(f"""
        CREATE TRIGGER reveal_audit_append_only BEFORE UPDATE OR DELETE ON "{schema}".reveal_audit
        FOR EACH ROW EXECUTE FUNCTION "{schema}".reveal_audit_append_only();
    """)


def downgrade() -> None:
    schema = current_schema()
    op.drop_table("reveal_audit", schema=T)
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".reveal_audit_append_only()')
    op.drop_table("data_keys", schema=T)
    for name in SENSITIVE:
        op.drop_index(f"ix_customers_{name}_bidx", "customers", schema=T)
        for suffix in ("enc", "bidx", "masked"):
            op.drop_column("customers", f"{name}_{suffix}", schema=schema)
