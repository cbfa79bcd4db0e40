"""The customer tag projection (migration c0011)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_customers.customer.tables import metadata
from crm_platform.db import TENANT

customer_tags = sa.Table(
    "customer_tags",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenant.customers.id"), primary_key=True),
    sa.Column("tag_id", pg.UUID(as_uuid=True), primary_key=True),
    # Tagging's change number of the newest event applied here (TagApplied/TagRemoved.change_seq).
    sa.Column("change_seq", sa.BigInteger, nullable=False),
    # The newest change was a removal: the row stays so an older apply cannot resurrect the tag.
    sa.Column("removed", sa.Boolean, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)
