"""The dry run's checked rows, kept for the import (crm_customers/importing): one row per batch
of 2,000 file rows with their checked values (serialized, compressed) and a fingerprint of what
checking depended on (the write configuration, owners, the importer, the sealing key, the date).
The import reads them instead of reading and checking the file again, unless the fingerprint
changed, and deletes them when it ends.

Revision ID: c0250
Revises: c0211
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from crm_platform.migrations import current_schema

revision: str = "c0250"
down_revision: str | None = "c0211"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    op.create_table(
        "customer_import_checked",
        sa.Column("import_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("batch", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        # The last batch of the file (present only when the dry run reached the end).
        sa.Column("last", sa.Boolean, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema=schema,
    )


def downgrade() -> None:
    op.drop_table("customer_import_checked", schema=current_schema())
