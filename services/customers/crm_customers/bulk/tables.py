"""Mass change tables (migration c0009)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_customers.customer.tables import metadata
from crm_platform.db import TENANT

bulk_changes = sa.Table(
    "bulk_changes",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("job_id", pg.UUID(as_uuid=True)),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("filter", pg.JSONB, nullable=False),
    sa.Column("changes", pg.JSONB, nullable=False),
    sa.Column("principal", pg.JSONB, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("total", sa.Integer),
    sa.Column("processed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cursor", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

bulk_change_items = sa.Table(
    "bulk_change_items",
    metadata,
    sa.Column("bulk_change_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("code", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)
