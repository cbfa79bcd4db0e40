"""The erasure tombstone table (created by tenant migration c0009)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

# One row per erased customer: the id, when, by whom and why; no personal data.
customer_erasures = sa.Table(
    "customer_erasures",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("erased_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("erased_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    schema=TENANT,
)

