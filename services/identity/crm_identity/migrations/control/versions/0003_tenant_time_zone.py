"""Tenant settings: each tenant's time zone (IANA name). Existing zh-CN tenants get Asia/Shanghai,
the others UTC, as sign-up chooses for new ones.

Revision ID: i0003
Revises: i0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i0003"
down_revision: str | None = "i0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenant_directory", sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"),
                  schema="control")
    op.execute("UPDATE control.tenant_directory SET time_zone = 'Asia/Shanghai' WHERE default_locale = 'zh-CN'")


def downgrade() -> None:
    op.drop_column("tenant_directory", "time_zone", schema="control")
