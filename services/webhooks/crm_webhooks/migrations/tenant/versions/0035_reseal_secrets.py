"""Endpoint signing secrets in the platform's one sealing envelope (crm_platform/sealing.py): queues
this tenant's `sealing.reseal` job, which the webhooks job worker runs with the service key
(endpoint/secrets.py). Until it has run, the old format still opens.

Revision ID: w0035
Revises: w0040
Create Date: 2026-11-24
"""

import uuid
from collections.abc import Sequence

from alembic import op

from crm_platform.migrations import current_schema
from crm_platform.resealing import enqueue_in_migration
from crm_webhooks.endpoint.secrets import RESEAL_TARGET

revision: str = "w0035"
down_revision: str | None = "w0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    if not schema.startswith("t_"):  # only real tenant schemas have a tenant to run the job for
        return
    enqueue_in_migration(op.get_bind(), RESEAL_TARGET, "endpoints", ["secret_encrypted"], schema,
                         uuid.UUID(schema[2:]))


def downgrade() -> None:
    pass  # an older release cannot open re-sealed secrets
