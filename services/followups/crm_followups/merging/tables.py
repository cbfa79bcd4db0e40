"""Merge bookkeeping tables (migrations fu0002, fu0160)."""

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

# Records, feedback and surveys a merge moved (migration fu0160): `kind` names the table.
merge_row_moves = sa.Table(
    "merge_row_moves",
    metadata,
    sa.Column("merge_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("row_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    schema=TENANT,
)
