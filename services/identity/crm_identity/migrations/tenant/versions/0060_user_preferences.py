"""Each user's own language and time zone (empty: the tenant's). Access tokens carry them as the
OpenID Connect claims `locale` and `zoneinfo` (with `name`), so the web UI shows every time in one
zone without asking identity on each page (docs/identity.md, "Preferences").

Revision ID: it0060
Revises: it0035
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_platform.migrations import current_schema

revision: str = "it0060"
down_revision: str | None = "it0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.add_column("users", sa.Column("locale", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("users", sa.Column("time_zone", sa.Text, nullable=False, server_default=""), schema=schema)


def downgrade() -> None:
    schema = current_schema()
    op.drop_column("users", "time_zone", schema=schema)
    op.drop_column("users", "locale", schema=schema)
