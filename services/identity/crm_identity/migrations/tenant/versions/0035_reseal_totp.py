"""TOTP secrets in the platform's one sealing envelope (crm_platform/sealing.py): queues this
tenant's `sealing.reseal` job, which identity's job worker runs with the master key (until then the
old format still opens).

Revision ID: it0035
Revises: it0007
Create Date: 2026-11-24
"""

import uuid
from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema
from crm_platform.resealing import enqueue_in_migration

revision: str = "it0035"
down_revision: str | None = "it0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    if not schema.startswith("t_"):  # only real tenant schemas have a tenant to run the job for
        return
    enqueue_in_migration(op.get_bind(), "identity.totp", "users", ["totp_secret_sealed", "totp_pending_sealed"],
                         schema, uuid.UUID(schema[2:]))


def downgrade() -> None:
    pass  # an older release cannot open re-sealed secrets
