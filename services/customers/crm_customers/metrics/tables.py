"""The per-customer value metrics projection (migration c0200, docs/customers.md "Value metrics"):
spend in the last 12 months per currency and orders in the last 30 days, for the customers who
have any, indexed so a segment's metric condition is an index range."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

# `stale_from`: the day the oldest counted order leaves the window (its date + the window's days);
# from then on the row's figure is too high until refreshed (metrics/repository.py).
spend_12m = sa.Table(
    "customer_spend_12m",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("amount", sa.Numeric(20, 4), nullable=False),
    sa.Column("stale_from", sa.Date, nullable=False),
    schema=TENANT,
)

orders_30d = sa.Table(
    "customer_orders_30d",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("orders", sa.Integer, nullable=False),
    sa.Column("stale_from", sa.Date, nullable=False),
    schema=TENANT,
)
