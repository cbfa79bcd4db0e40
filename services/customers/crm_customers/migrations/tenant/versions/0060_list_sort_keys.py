"""Indexes for the list's new sort keys (status, industry, region; docs/customers.md "Sorting"):
each (column, id), so a sorted first page walks the index instead of sorting every match, and the
page token's (value, id) comparison continues from it.

Revision ID: c0060
Revises: c0056
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema

revision: str = "c0060"
down_revision: str | None = "c0056"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SORT_KEYS = ("status", "industry", "region")


def upgrade() -> None:
    schema = current_schema()
    for column in SORT_KEYS:
        op.create_index(f"ix_customers_{column}_id", "customers", [column, "id"], schema=schema)


def downgrade() -> None:
    schema = current_schema()
    for column in SORT_KEYS:
        op.drop_index(f"ix_customers_{column}_id", "customers", schema=schema)
