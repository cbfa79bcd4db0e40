"""Signing keys published before they sign: `activates_at` is when a new key starts signing (NULL:
at once, as before). A rotation publishes the key in the JWKS first, so every verifier's cache can
hold it before the first token signed with it arrives (docs/access.md, "Key rotation").

Revision ID: i0037
Revises: i0036
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0037"
down_revision: str | None = "i0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("signing_keys", sa.Column("activates_at", sa.DateTime(timezone=True)), schema="control")


def downgrade() -> None:
    op.drop_column("signing_keys", "activates_at", schema="control")
