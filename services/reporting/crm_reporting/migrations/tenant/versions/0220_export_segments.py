"""A report export keeps the segment of its report's `segment_id` (a `crm.customers.v1.SegmentDefinition`
as JSON, read by the gateway as the requester), as it keeps the saved view's filters, so its job
counts the segment's customers (docs/reporting.md, "Segments as the object"). Share links and
subscriptions keep theirs in their `target` JSON, beside the view filters.

Revision ID: r0220
Revises: r0190
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "r0220"
down_revision: str | None = "r0190"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: the report names no segment.
    op.add_column("report_exports", sa.Column("segment_definition", pg.JSONB), schema=current_schema())


def downgrade() -> None:
    op.drop_column("report_exports", "segment_definition", schema=current_schema())
