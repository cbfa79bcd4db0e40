"""Every SQL statement about owners' names: the `user_teams` projection (customer/users.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import user_teams


async def names(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of the given users that the projection knows (unknown ones are left out)."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(user_teams.c.user_id, user_teams.c.display_name).where(user_teams.c.user_id.in_(wanted))
    )
    return {row.user_id: row.display_name for row in rows if row.display_name}


# An actor id that names a user (created_by / updated_by hold a user id, or "client:<id>").
USER_ID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def name_column(user_id: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """`names` as one column of a query over `user_id`'s table (a uuid column, or a text actor id):
    the user's display name, "" when the projection does not know them."""
    key: sa.ColumnElement[Any] = user_id
    if not isinstance(user_id.type, pg.UUID):
        key = sa.case((user_id.op("~")(USER_ID_PATTERN), sa.cast(user_id, pg.UUID(as_uuid=True))), else_=None)
    found = (sa.select(user_teams.c.display_name).where(user_teams.c.user_id == key)
             .correlate(user_id.table).scalar_subquery())
    return sa.func.coalesce(found, "")


def _escaped(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def candidates_page(
    session: AsyncSession, allowed: sa.ColumnElement[bool], prefix: str, pinyin_prefix: str, limit: int,
    after: tuple[str, uuid.UUID] | None,
) -> list[Any]:
    """Users matching `allowed` whose name starts with `prefix` (case-insensitive) or whose name's
    pinyin starts with `pinyin_prefix`, by sort key (pinyin or lower-cased name) then id."""
    query = sa.select(user_teams.c.user_id, user_teams.c.display_name, user_teams.c.team_id,
                      user_teams.c.sort_key).where(allowed)
    if prefix:
        matches: sa.ColumnElement[bool] = user_teams.c.display_name.ilike(_escaped(prefix) + "%", escape="\\")
        if pinyin_prefix:
            matches = sa.or_(matches, user_teams.c.sort_key.like(_escaped(pinyin_prefix) + "%", escape="\\"))
        query = query.where(matches)
    if after is not None:
        query = query.where(sa.tuple_(user_teams.c.sort_key, user_teams.c.user_id) > sa.tuple_(*after))
    query = query.order_by(user_teams.c.sort_key, user_teams.c.user_id).limit(limit)
    return list((await session.execute(query)).all())
