"""Authorization-code reuse revokes what the code's first exchange issued (RFC 6749 §4.1.2,
RFC 9700 §4.2): each code row remembers the refresh-token family and the access token (jti, expiry)
of its exchange, and `reused_at` marks a code presented again (oauth/service.py `exchange_code`).

Revision ID: i0035
Revises: i0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "i0035"
down_revision: str | None = "i0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

C = "control"


def upgrade() -> None:
    op.add_column("authorization_codes", sa.Column("family_id", pg.UUID(as_uuid=True)), schema=C)
    op.add_column("authorization_codes", sa.Column("access_jti", sa.Text), schema=C)
    op.add_column("authorization_codes", sa.Column("access_expires_at", sa.DateTime(timezone=True)), schema=C)
    op.add_column("authorization_codes", sa.Column("reused_at", sa.DateTime(timezone=True)), schema=C)


def downgrade() -> None:
    for column in ("reused_at", "access_expires_at", "access_jti", "family_id"):
        op.drop_column("authorization_codes", column, schema=C)
