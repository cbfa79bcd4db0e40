"""The `followups-users` consumer: identity's user events kept on `user_teams` with what reminders
need (email, name, language, zone, disabled, data scope, teams and the team's manager), and each user's morning digest
(re)scheduled from the row as it stands after the version-guarded upsert (an old event never moves it
back)."""

from __future__ import annotations

import uuid
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import user_teams
from crm_followups.reminders.service import DEFAULT_ZONE, schedule_digest
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent
from crm_platform.user_teams import SUBJECTS, UserChange, save_user_change

EXTRA: Final = ("email", "locale", "time_zone")


def _access(event: CloudEvent) -> dict[str, object]:
    """The user's data scope and teams (crm_followups/reminders/visibility.py); nothing from an
    identity that does not announce them (the row then keeps `access_known` false)."""
    data = event.data
    if not data.get("access_known"):
        return {}
    teams = []
    for raw in data.get("team_ids") or ():
        try:
            teams.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    return {"access_known": True, "data_scope": str(data.get("data_scope") or "own"), "team_ids": teams}


def _team_manager(event: CloudEvent) -> dict[str, object]:
    """The manager of the user's team (crm_followups/cadence/escalation.py); nothing from an
    identity that does not announce it (`team_manager_known` stays false)."""
    data = event.data
    if not data.get("team_manager_known"):
        return {}
    raw = str(data.get("team_manager_id") or "")
    try:
        manager = uuid.UUID(raw) if raw else None
    except ValueError:
        manager = None
    return {"team_manager_known": True, "team_manager_id": manager}


def users_subscription(durable: str, default_zone: str = DEFAULT_ZONE) -> Subscription:
    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        change = UserChange.parse(event)
        extra = {name: str(event.data.get(name) or "").strip() for name in EXTRA}
        roles = sorted({str(r) for r in event.data.get("roles") or []})
        await save_user_change(session, user_teams, change, display_name=change.display_name,
                               disabled=change.disabled, roles=roles, **extra, **_access(event),
                               **_team_manager(event))
        row = (await session.execute(sa.select(user_teams).where(user_teams.c.user_id == change.user_id))).one()
        await schedule_digest(session, uuid.UUID(event.tenantid), row, default_zone)

    return Subscription(durable=durable, filter_subjects=SUBJECTS, handler=handle)
