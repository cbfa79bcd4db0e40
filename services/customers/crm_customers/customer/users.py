"""The `customers-users` consumer: identity's `user.created` / `user.updated` events kept as the
tenant's owner -> team map (`user_teams`), which data scope `team` needs (customer/access.py).
A redelivered or out-of-order event never replaces a newer version."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import user_teams
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

DURABLE_NAME = "customers-users"
SUBJECTS = ["crm.*.user.created", "crm.*.user.updated"]


async def record_user(event: CloudEvent, session: AsyncSession) -> None:
    data = event.data
    team = data.get("team_id") or ""
    values = {
        "user_id": uuid.UUID(data["user_id"]),
        "team_id": uuid.UUID(team) if team else None,
        "version": int(data.get("version") or 0),
    }
    statement = insert(user_teams).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[user_teams.c.user_id],
            set_={"team_id": statement.excluded.team_id, "version": statement.excluded.version},
            where=user_teams.c.version < statement.excluded.version,
        )
    )


def users_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_user)


async def team_of(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    row = (await session.execute(sa.select(user_teams.c.team_id).where(user_teams.c.user_id == user_id))).first()
    return row.team_id if row else None
