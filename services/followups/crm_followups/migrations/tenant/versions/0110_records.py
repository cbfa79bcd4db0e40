"""Follow-up records (the platform guide's table 2), richer tasks, and the tenant's method and
result dictionaries.

- `records`: one row per follow-up that happened: number from the tenant's pattern, customer,
  time, method and result (dictionary codes), content, next follow-up time, who followed up, the
  task it completed and the task it scheduled next.
- `record_counters`: the daily sequence of record numbers, one row per rendered prefix.
- `followup_settings`: the tenant's record number pattern.
- `dictionary_entries`: the `method` and `result` dictionaries, seeded with the guide's entries.
- `tasks` gains method, content, completed_at, record_id (the record that completed it) and
  source_record_id (the record whose next follow-up time created it).

Revision ID: fu0110
Revises: fu0035
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "fu0110"
down_revision: str | None = "fu0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METHODS = [("phone", "Phone", "电话"), ("visit", "Visit", "拜访"), ("email", "Email", "邮件"),
           ("online_meeting", "Online meeting", "线上会议")]
T = "tenant"
RESULTS = [("interested", "Interested", "有意向"), ("needs_followup", "Needs follow-up", "需跟进"),
           ("not_interested", "Not interested", "暂无意向")]


def upgrade() -> None:
    schema = current_schema()
    op.add_column("tasks", sa.Column("method", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("tasks", sa.Column("content", sa.Text, nullable=False, server_default=""), schema=schema)
    op.add_column("tasks", sa.Column("completed_at", sa.DateTime(timezone=True)), schema=schema)
    op.add_column("tasks", sa.Column("record_id", pg.UUID(as_uuid=True)), schema=schema)
    op.add_column("tasks", sa.Column("source_record_id", pg.UUID(as_uuid=True)), schema=schema)
    # "My follow-ups" and the team view: a user's open tasks by due time.
    op.create_index("ix_tasks_assignee_due", "tasks", ["assignee_id", "due_at", "id"], schema=T,
                    postgresql_where=sa.text("status = 'open'"))

    op.create_table(
        "records",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("customer_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("followed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("next_followup_at", sa.DateTime(timezone=True)),
        sa.Column("followed_by", sa.Text, nullable=False),
        sa.Column("task_id", pg.UUID(as_uuid=True)),
        sa.Column("next_task_id", pg.UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.UniqueConstraint("number", name="uq_records_number"),
        sa.CheckConstraint("char_length(content) <= 10000", name="ck_records_content_length"),
        schema=T,
    )
    op.create_index("ix_records_customer", "records", ["customer_id", "followed_at", "id"], schema=T)
    op.create_index("ix_records_followed", "records", ["followed_at", "id"], schema=T)
    op.create_index("ix_records_follower", "records", ["followed_by", "followed_at", "id"], schema=T)

    op.create_table(
        "record_counters",
        sa.Column("prefix", sa.Text, primary_key=True),
        sa.Column("last", sa.BigInteger, nullable=False),
        schema=T,
    )
    settings = op.create_table(
        "followup_settings",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        schema=T,
    )
    op.bulk_insert(settings, [{"key": "record_number_pattern", "value": "{year}{month}{day}{seq:03}"}])

    entries = op.create_table(
        "dictionary_entries",
        sa.Column("dictionary", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("label_en", sa.Text, nullable=False),
        sa.Column("label_zh", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("dictionary", "code", name="pk_dictionary_entries"),
        schema=T,
    )
    op.bulk_insert(entries, [
        {"dictionary": name, "code": code, "label_en": en, "label_zh": zh, "position": i}
        for name, rows in (("method", METHODS), ("result", RESULTS)) for i, (code, en, zh) in enumerate(rows)
    ])


def downgrade() -> None:
    schema = current_schema()
    for table in ("dictionary_entries", "followup_settings", "record_counters", "records"):
        op.drop_table(table, schema=T)
    op.drop_index("ix_tasks_assignee_due", "tasks", schema=T)
    for column in ("source_record_id", "record_id", "completed_at", "content", "method"):
        op.drop_column("tasks", column, schema=schema)
