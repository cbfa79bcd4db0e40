"""Customer imports (crm_customers/importing, docs/customers.md "Customer import"): the import
and its state, the uploaded file in parts, every row's problems found by the dry run, and what
the import changed (created ids, the before-image of updated customers) so it can be undone.

Revision ID: c0120
Revises: c0061
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0120"
down_revision: str | None = "c0061"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.create_table(
        "customer_imports",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("format", sa.Text, nullable=False),
        sa.Column("encoding", sa.Text, nullable=False, server_default=""),
        sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("file_parts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("header", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("mapping", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("duplicate_mode", sa.Text, nullable=False, server_default="skip"),
        sa.Column("principal", pg.JSONB, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("job_id", pg.UUID(as_uuid=True)),
        sa.Column("phase", sa.Text, nullable=False, server_default="validate"),
        sa.Column("total_rows", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("processed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cursor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("error_rows", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("duplicate_rows", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("skipped_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("validated_at", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        sa.Column("undone_by", sa.Text, nullable=False, server_default=""),
        # Undo goes through the change log in customer id order; the last id undone.
        sa.Column("undo_cursor", pg.UUID(as_uuid=True)),
        schema=schema,
    )
    op.create_index("customer_imports_created_by", "customer_imports", ["created_by", "created_at"], schema=schema)
    op.create_table(
        "customer_import_parts",
        sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema=schema,
    )
    op.create_table(
        "customer_import_problems",
        sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("row", sa.BigInteger, primary_key=True),
        sa.Column("column", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        # error: the row is not imported; duplicate: it follows the import's duplicate mode.
        sa.Column("level", sa.Text, nullable=False),
        # The other row (in the file) or the existing customer's code it duplicates.
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        schema=schema,
    )
    op.create_table(
        "customer_import_changes",
        sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("customer_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("action", sa.Text, nullable=False),
        # Updated customers: the columns the import overwrote, as they were (undo restores them).
        sa.Column("before", pg.JSONB),
        schema=schema,
    )


def downgrade() -> None:
    schema = current_schema()
    for table in ("customer_import_changes", "customer_import_problems", "customer_import_parts", "customer_imports"):
        op.drop_table(table, schema=schema)
