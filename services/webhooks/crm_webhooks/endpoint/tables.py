"""Tenant tables of the webhooks service (declared once; the migration creates them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_platform.db import TENANT, new_metadata

# One metadata for the service's tenant tables, so deliveries can reference endpoints.
metadata = new_metadata()

endpoints = sa.Table(
    "endpoints",
    metadata,
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    # AES-GCM ciphertext of the whsec_ signing secret (see secrets.SecretCipher): a dump of the
    # database alone does not reveal any signing secret.
    sa.Column("secret_encrypted", sa.LargeBinary, nullable=False),
    # Empty means every event type.
    sa.Column("event_types", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # Migration w0002: the field policies of the token that created or last updated the endpoint,
    # fields hidden on top of them, who set them and when (docs/webhooks.md, "Field policies").
    sa.Column("field_policies", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("hidden_fields", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("policies_set_by", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # Migration w0040. Why and when the endpoint was disabled: "manual" (PATCH) or "failing"
    # (automatic, endpoint/health.py); NULL while enabled.
    sa.Column("disabled_reason", sa.Text),
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
    # The first failed attempt since the last success; NULL while healthy.
    sa.Column("failing_since", sa.DateTime(timezone=True)),
    # Deleted endpoints stay as tombstones (their deliveries keep their history); every read skips them.
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    # Migration w0140: what the receiver is, for the people who manage it.
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    schema=TENANT,
)
