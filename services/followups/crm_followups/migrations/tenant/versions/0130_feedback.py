"""Customer feedback and satisfaction surveys (docs/followups.md, "Feedback", "Surveys").

- `feedback`: one row per piece of feedback a customer gave: channel, category (a code of the new
  `feedback_category` dictionary), rating 1-5, NPS score 0-10 (survey answers), text, and the
  sentiment computed from the text when it was logged.
- `surveys`: a CSAT or NPS survey mailed to a customer, its one-time link as a SHA-256 hash of the
  token, its expiry and the feedback its answer became.
- the `feedback_category` dictionary, seeded with product, service, price and other.

Revision ID: fu0130
Revises: fu0120
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "fu0130"
down_revision: str | None = "fu0120"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"
CATEGORIES = [("product", "Product", "产品"), ("service", "Service", "服务"), ("price", "Price", "价格"),
              ("other", "Other", "其他")]


# A full Table (not a lightweight `sa.table`), so the runner's schema_translate_map reaches it.
ENTRIES = sa.Table("dictionary_entries", sa.MetaData(), sa.Column("dictionary", sa.Text), sa.Column("code", sa.Text),
                   sa.Column("label_en", sa.Text), sa.Column("label_zh", sa.Text),
                   sa.Column("position", sa.Integer), schema=T)


def upgrade() -> None:
    op.create_table(
        "feedback",
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
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="ck_feedback_rating"),
        sa.CheckConstraint("nps_score IS NULL OR nps_score BETWEEN 0 AND 10", name="ck_feedback_nps"),
        sa.CheckConstraint("char_length(text) <= 10000", name="ck_feedback_text_length"),
        schema=T,
    )
    op.create_index("ix_feedback_received", "feedback", ["received_at", "id"], schema=T)
    op.create_index("ix_feedback_customer", "feedback", ["customer_id", "received_at", "id"], schema=T)
    op.create_table(
        "surveys",
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
        sa.UniqueConstraint("token_hash", name="uq_surveys_token_hash"),
        schema=T,
    )
    op.create_index("ix_surveys_sent", "surveys", ["sent_at", "id"], schema=T)
    op.create_index("ix_surveys_customer", "surveys", ["customer_id", "sent_at", "id"], schema=T)
    op.bulk_insert(ENTRIES, [
        {"dictionary": "feedback_category", "code": code, "label_en": en, "label_zh": zh, "position": i}
        for i, (code, en, zh) in enumerate(CATEGORIES)
    ])


def downgrade() -> None:
    op.execute(sa.delete(ENTRIES).where(ENTRIES.c.dictionary == "feedback_category"))
    op.drop_table("surveys", schema=T)
    op.drop_table("feedback", schema=T)
