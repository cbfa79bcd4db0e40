"""The timeline table (migration c0009)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_customers.customer.tables import metadata
from crm_platform.db import TENANT

customer_activity = sa.Table(
    "customer_activity",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("data", pg.JSONB, nullable=False),
    schema=TENANT,
)
