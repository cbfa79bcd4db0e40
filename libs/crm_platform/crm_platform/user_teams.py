"""The owner -> team map (`user_teams`) that data scope `team` needs, kept from identity's
`crm.user.created` / `crm.user.updated` (proto UserCreated / UserUpdated) by every service that
applies the scope to its own rows: one parser, one version-guarded upsert, one table shape and one
resolution of "whose records may this caller see", so customers (crm_customers/customer/users.py)
and reporting (crm_reporting/scope/) agree on who is in which team.

Each service creates the table in its own tenant migration and may keep more columns about the user
(customers keeps names and the disabled flag for its owner pickers); an older or redelivered event
never replaces a newer version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.access import ALL, TEAM
from crm_platform.auth import Principal
from crm_platform.consumer import Subscription
from crm_platform.db import TENANT
from crm_platform.events import CloudEvent

SUBJECTS = ["crm.*.user.created", "crm.*.user.updated"]


@dataclass(frozen=True)
class UserChange:
    """What a user event says about the user (the fields of UserCreated / UserUpdated)."""

    user_id: uuid.UUID
    team_id: uuid.UUID | None
    version: int
    display_name: str
    disabled: bool

    @classmethod
    def parse(cls, event: CloudEvent) -> UserChange:
        """Raises KeyError / ValueError for a payload without a usable user id (the consumer then
        redelivers and finally dead-letters it, as for any failing handler)."""
        data = event.data
        team = data.get("team_id") or ""
        return cls(
            user_id=uuid.UUID(data["user_id"]),
            team_id=uuid.UUID(team) if team else None,
            # proto3 JSON writes int64 as a string.
            version=int(data.get("version") or 0),
            display_name=str(data.get("display_name") or "").strip(),
            disabled=bool(data.get("disabled")),
        )


def user_teams_table(metadata: sa.MetaData, *extra: sa.Column[Any]) -> sa.Table:
    """The tenant table `user_teams(user_id, team_id, version, ...extra)`."""
    return sa.Table(
        "user_teams",
        metadata,
        sa.Column("user_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("team_id", pg.UUID(as_uuid=True)),
        # The user's version in identity: an older event never overwrites a newer one.
        sa.Column("version", sa.BigInteger, nullable=False),
        *extra,
        schema=TENANT,
    )


async def save_user_change(session: AsyncSession, table: sa.Table, change: UserChange, **extra: object) -> None:
    """Upserts the user's team (and the service's `extra` columns) unless the row already holds
    the same or a newer version."""
    values: dict[str, object] = {
        "user_id": change.user_id, "team_id": change.team_id, "version": change.version, **extra,
    }
    statement = pg.insert(table).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.user_id],
            set_={name: statement.excluded[name] for name in values if name != "user_id"},
            where=table.c.version < statement.excluded.version,
        )
    )


def user_teams_subscription(durable: str, table: sa.Table) -> Subscription:
    """A durable consumer keeping `table` (the base columns only) from identity's user events."""

    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        await save_user_change(session, table, UserChange.parse(event))

    return Subscription(durable=durable, filter_subjects=SUBJECTS, handler=handle)


def visible_team_ids(principal: Principal) -> list[uuid.UUID]:
    """The token's team ids (the caller's team and its sub-teams) for data scope `team`, else none;
    a malformed id is skipped."""
    if principal.data_scope != TEAM:
        return []
    ids = []
    for raw in principal.team_ids:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    return ids


async def visible_owners(session: AsyncSession, table: sa.Table, principal: Principal) -> list[uuid.UUID] | None:
    """Whose records the caller may see, as customers' `access.scope_clause` decides it: None for
    data scope `all` (no restriction); otherwise the caller, plus for `team` every user whose team
    is one of the token's teams (read from `table` only then). `own`, and any unknown scope: the
    caller alone (nobody for a token without a user)."""
    if principal.data_scope == ALL:
        return None
    owners = [principal.user_id] if principal.user_id else []
    teams = visible_team_ids(principal)
    if teams:
        members = (await session.execute(
            sa.select(table.c.user_id).where(table.c.team_id.in_(teams)).order_by(table.c.user_id)
        )).scalars().all()
        owners += [member for member in members if member != principal.user_id]
    return owners
