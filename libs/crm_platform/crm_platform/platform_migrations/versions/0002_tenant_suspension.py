"""Tenant suspension and erasure in every service.

- `control.tenants.suspended_at`, filled by the built-in `<service>-tenancy` consumer from
  identity's crm.<tenant>.tenant.suspended / .resumed events.
- `control.erased_tenants`: the ids of offboarded tenants whose data this service erased (the id
  alone, no tenant data), so their remaining tokens stay refused and the id is never provisioned again.

Revision ID: p0002
Revises: p0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "p0002"
down_revision: str | None = "p0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("suspended_at", sa.DateTime(timezone=True)), schema="control")
    op.create_table(
        "erased_tenants",
        sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="control",
    )


def downgrade() -> None:
    op.drop_table("erased_tenants", schema="control")
    op.drop_column("tenants", "suspended_at", schema="control")
