"""Which tenant a share link token belongs to: the public page (/s/<token>) has no bearer token,
so the service finds the tenant by the token's hash here (crm_reporting/delivery/share_links.py).

Revision ID: rc0181
Revises:
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "rc0181"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

C = "control"


def upgrade() -> None:
    op.create_table(
        "share_link_tokens",
        # sha256 of the token (never the token).
        sa.Column("token_hash", sa.LargeBinary, primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("link_id", pg.UUID(as_uuid=True), nullable=False),
        schema=C,
    )
    op.create_index("ix_share_link_tokens_tenant", "share_link_tokens", ["tenant_id"], schema=C)


def downgrade() -> None:
    op.drop_table("share_link_tokens", schema=C)
