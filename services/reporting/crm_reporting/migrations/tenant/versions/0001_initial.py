"""Reporting keeps no per-tenant rows in Postgres yet (its data lives in ClickHouse); this empty
revision gives each tenant schema a version to build on (saved reports, subscriptions, share
links will add tables here).

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
