"""In-app notifications and each user's reminder channels (migration fu0111)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.db import TENANT

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("task_id", pg.UUID(as_uuid=True)),
    sa.Column("customer_id", pg.UUID(as_uuid=True)),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("read_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)

notification_preferences = sa.Table(
    "notification_preferences",
    metadata,
    sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("in_app", sa.Boolean, nullable=False),
    sa.Column("email", sa.Boolean, nullable=False),
    sa.Column("digest", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    schema=TENANT,
)
