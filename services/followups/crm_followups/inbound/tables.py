"""Inbound email's tables (tenant schema, migration fu0140)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.db import TENANT

inbound_mailbox = sa.Table(
    "inbound_mailbox",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)

inbound_customer_emails = sa.Table(
    "inbound_customer_emails",
    metadata,
    sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("email_key", sa.Text, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    schema=TENANT,
)

inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("message_id", sa.Text, primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("sender", sa.Text, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    # The customers recorded for this mail (fu0170); NULL on older rows: every customer it named.
    sa.Column("customers", pg.ARRAY(pg.UUID(as_uuid=True))),
    schema=TENANT,
)
