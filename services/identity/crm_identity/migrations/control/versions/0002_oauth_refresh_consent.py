"""OAuth completeness: refresh-token families and tokens, the access-token deny list, consent
tickets and remembered consents, and when a client's secret was last rotated.

Revision ID: i0002
Revises: i0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "i0002"
down_revision: str | None = "i0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("secret_rotated_at", sa.DateTime(timezone=True)), schema="control")
    op.create_table(
        "refresh_families",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_reason", sa.Text),
        schema="control",
    )
    op.create_index("ix_refresh_families_client_id", "refresh_families", ["client_id"], schema="control")
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.Text, primary_key=True),
        sa.Column(
            "family_id", pg.UUID(as_uuid=True), sa.ForeignKey("control.refresh_families.id"), nullable=False
        ),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        schema="control",
    )
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema="control")
    op.create_table(
        "revoked_access_tokens",
        sa.Column("jti", sa.Text, primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="control",
    )
    op.create_table(
        "consent_tickets",
        sa.Column("ticket_hash", sa.Text, primary_key=True),
        sa.Column("client_id", sa.Text, nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("redirect_uri", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("code_challenge", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        schema="control",
    )
    op.create_table(
        "oauth_consents",
        sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("client_id", sa.Text, primary_key=True),
        sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="control",
    )


def downgrade() -> None:
    for table in ("oauth_consents", "consent_tickets", "revoked_access_tokens", "refresh_tokens", "refresh_families"):
        op.drop_table(table, schema="control")
    op.drop_column("oauth_clients", "secret_rotated_at", schema="control")
