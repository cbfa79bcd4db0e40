"""Email into the timeline (crm_followups/inbound/, docs/followups.md#email-into-the-timeline): the
tenant's inbound address token, the customers' email addresses (a projection of customers' events,
matched case-insensitively), and the messages already recorded (by Message-ID, so a mail that
arrives twice is recorded once).

Revision ID: fu0140
Revises: fu0130
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "fu0140"
down_revision: str | None = "fu0130"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    op.create_table(
        "inbound_mailbox",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=T,
    )
    op.create_table(
        "inbound_customer_emails",
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        # lower(trim(email)); '' when the customer has none.
        sa.Column("email_key", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        schema=T,
    )
    op.create_index("ix_inbound_customer_emails_key", "inbound_customer_emails", ["email_key"], schema=T,
                    postgresql_where=sa.text("email_key <> ''"))
    op.create_table(
        "inbound_messages",
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        schema=T,
    )


def downgrade() -> None:
    op.drop_table("inbound_messages", schema=T)
    op.drop_table("inbound_customer_emails", schema=T)
    op.drop_table("inbound_mailbox", schema=T)
