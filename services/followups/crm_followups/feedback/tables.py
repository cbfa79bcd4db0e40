"""Feedback and surveys (created by migration fu0130)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.db import TENANT

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("rating", sa.SmallInteger),
    sa.Column("nps_score", sa.SmallInteger),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("sentiment", sa.Text, nullable=False),
    sa.Column("sentiment_score", sa.Float, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("survey_id", pg.UUID(as_uuid=True)),
    sa.Column("survey_kind", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("created_by", sa.Text, nullable=False),
    schema=TENANT,
)

surveys = sa.Table(
    "surveys",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False),
    sa.Column("sent_by", sa.Text, nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
    sa.Column("feedback_id", pg.UUID(as_uuid=True)),
    schema=TENANT,
)
