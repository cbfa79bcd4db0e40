"""Signing keys in the platform's one sealing envelope (crm_platform/sealing.py): queues the
`sealing.reseal` job that rewrites the sealed private keys (identity's job worker holds the master
key; until it has run, the old format still opens).

Revision ID: i0036
Revises: i0035
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

from crm_platform.resealing import enqueue_in_migration

revision: str = "i0036"
down_revision: str | None = "i0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    enqueue_in_migration(op.get_bind(), "identity.signing_keys", "signing_keys", ["private_jwk_encrypted"],
                         "control", None)


def downgrade() -> None:
    pass  # the envelope is read by this code only; an older release cannot open re-sealed keys
