"""Announce every existing user once (`user.updated` with display name and disabled flag), so
projections that started keeping names (customers' owner names, crm_customers/customer/users.py)
learn the users created before their events carried them. Each user's version goes up by one so
consumers that keep the highest version take the new event; the events go through the ordinary
outbox (`control.outbox`, published by identity's relay).

Revision ID: it0007
Revises: it0006
Create Date: 2026-11-23
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_identity.users.service import EVENT_SOURCE, user_event_data
from crm_platform import events, telemetry
from crm_platform.migrations import current_schema
from crm_platform.tables import outbox

revision: str = "it0007"
down_revision: str | None = "it0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

T = "tenant"


def upgrade() -> None:
    schema = current_schema()
    if not schema.startswith("t_"):  # only real tenant schemas have a tenant to announce users for
        return
    tenant_id = uuid.UUID(schema[2:])
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        f'UPDATE "{schema}".users SET version = version + 1 '
        "RETURNING id, team_id, roles, version, display_name, disabled"
    )).all()
    if not rows:
        return
    subject = events.subject_for(tenant_id, "user", "updated")
    headers = telemetry.inject({})
    payloads = []
    for row in sorted(rows, key=lambda r: r.id):
        event = events.CloudEvent.new(source=EVENT_SOURCE, type=events.event_type("user", "updated"),
                                      tenant_id=tenant_id, data=user_event_data("updated", row),
                                      subject=str(row.id))
        payloads.append({"event_id": uuid.UUID(event.id), "tenant_id": tenant_id, "subject": subject,
                         "payload": event.to_json(), "headers": headers})
    bind.execute(sa.insert(outbox).values(payloads))


def downgrade() -> None:
    pass  # announcements cannot be taken back; versions only ever go up
