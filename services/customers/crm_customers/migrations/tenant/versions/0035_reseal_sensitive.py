"""Sensitive fields and the tenant's data key in the platform's one sealing envelope
(crm_platform/sealing.py): queues this tenant's `sealing.reseal` jobs, which customers' job worker
runs with the master key (crm_customers/sensitive/resealing.py). Until they have run, the old
formats still open.

Revision ID: c0035
Revises: c0013
Create Date: 2026-11-24
"""

import uuid
from collections.abc import Sequence

from alembic import op

from crm_customers.sensitive.resealing import DATA_KEYS, SENSITIVE_FIELDS
from crm_platform.migrations import current_schema
from crm_platform.resealing import enqueue_in_migration

revision: str = "c0035"
down_revision: str | None = "c0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schema = current_schema()
    if not schema.startswith("t_"):  # only real tenant schemas have a tenant to run the job for
        return
    tenant_id = uuid.UUID(schema[2:])
    bind = op.get_bind()
    enqueue_in_migration(bind, DATA_KEYS, "data_keys", ["wrapped_key"], schema, tenant_id)
    enqueue_in_migration(bind, SENSITIVE_FIELDS, "customers", ["resident_id_enc", "bank_card_enc"], schema, tenant_id)


def downgrade() -> None:
    pass  # an older release cannot open re-sealed values
