"""The `customers-users` consumer: identity's `user.created` / `user.updated` events kept as the
tenant's owner -> team map (`user_teams`), which data scope `team` needs (customer/access.py),
with each user's display name and disabled flag (owners shown by name, owner pickers: owners/).
A redelivered or out-of-order event never replaces a newer version (parsing and the
version-guarded upsert are shared with reporting's copy of the map: crm_platform/user_teams.py)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import user_teams
from crm_customers.search.pinyin import search_keys
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent
from crm_platform.user_teams import SUBJECTS, UserChange, save_user_change

DURABLE_NAME = "customers-users"


async def record_user(event: CloudEvent, session: AsyncSession) -> None:
    change = UserChange.parse(event)
    name = change.display_name
    await save_user_change(session, user_teams, change, display_name=name, disabled=change.disabled,
                           sort_key=search_keys(name)[0] or name.casefold())


def users_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_user)


async def team_of(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID | None:
    row = (await session.execute(sa.select(user_teams.c.team_id).where(user_teams.c.user_id == user_id))).first()
    return row.team_id if row else None
