"""Merge bookkeeping tables (migration fu0002)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.db import TENANT
from crm_platform.merges import merge_log_table

merge_log = merge_log_table(metadata)

merge_task_moves = sa.Table(
    "merge_task_moves",
    metadata,
    sa.Column("merge_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("task_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    schema=TENANT,
)
