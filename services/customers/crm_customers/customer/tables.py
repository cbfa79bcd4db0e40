from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

metadata = new_metadata()

customer_code_seq = sa.Sequence("customer_code_seq", schema=TENANT)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("industry", sa.Text, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("mobile", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("owner_id", pg.UUID(as_uuid=True)),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    schema=TENANT,
)
