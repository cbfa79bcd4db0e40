"""The cadence SLA report (docs/followups.md, "SLA"): of the tasks cadence rules made, the share
done on time, per rep (assignee) and per team (the assignee's team), over a window.

Counted: tasks completed in [since, until), and open tasks whose due time fell in it and has passed
(overdue). Not counted: cancelled tasks (their tag was removed) and open tasks not due yet. On time:
completed at or before `due_at`.

The viewer's data scope is compiled into the query: the task's customer must be visible
(`CustomerAccess.condition`, as for task lists) and its assignee one of the visible owners (`own`:
the caller, so a rep sees themselves; `team`: the members of the token's teams; `all`: everyone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.access import user_teams
from crm_followups.task.tables import tasks
from crm_platform.auth import Principal
from crm_platform.customer_scope import CustomerAccess
from crm_platform.errors import FieldError, InvalidInput

DEFAULT_WINDOW = timedelta(days=90)
MAX_WINDOW = timedelta(days=731)


@dataclass(frozen=True)
class SlaLine:
    id: str
    total: int
    on_time: int
    late: int
    overdue_open: int

    @property
    def share(self) -> float:
        return round(self.on_time / self.total, 4) if self.total else 0.0


@dataclass(frozen=True)
class SlaReport:
    since: datetime
    until: datetime
    reps: list[SlaLine]
    teams: list[SlaLine]
    overall: SlaLine


def _line(key: str, row: Any) -> SlaLine:
    return SlaLine(id=key, total=int(row.total or 0), on_time=int(row.on_time or 0), late=int(row.late or 0),
                   overdue_open=int(row.overdue_open or 0))


async def report(session: AsyncSession, caller: Principal, access: CustomerAccess, *, since: datetime | None,
                 until: datetime | None) -> SlaReport:
    now = datetime.now(UTC)
    end = until or now
    start = since or end - DEFAULT_WINDOW
    if end <= start:
        raise InvalidInput([FieldError("until", "out_of_range", "until must be after since")])
    if end - start > MAX_WINDOW:
        raise InvalidInput([FieldError("since", "out_of_range", "at most two years at once")])
    scope = await access.scope(session, caller)
    t = tasks.c
    done = t.status == "done"
    measures = [
        sa.func.count().label("total"),
        sa.func.count().filter(done & (t.completed_at <= t.due_at)).label("on_time"),
        sa.func.count().filter(done & (t.completed_at > t.due_at)).label("late"),
        sa.func.count().filter(t.status == "open").label("overdue_open"),
    ]
    counted = sa.and_(
        t.cadence_rule_id.is_not(None),
        sa.or_(sa.and_(done, t.completed_at >= start, t.completed_at < end),
               sa.and_(t.status == "open", t.due_at >= start, t.due_at < end, t.due_at < now)),
        access.condition(t.customer_id, scope))
    if scope.owners is not None:
        counted = sa.and_(counted, t.assignee_id.in_(scope.owners)) if scope.owners else sa.false()
    team = user_teams.c.team_id
    source = tasks.outerjoin(user_teams, user_teams.c.user_id == t.assignee_id)
    by_rep = (await session.execute(sa.select(t.assignee_id, *measures).select_from(source).where(counted)
                                    .group_by(t.assignee_id))).all()
    by_team = (await session.execute(sa.select(team, *measures).select_from(source).where(counted)
                                     .group_by(team))).all()
    overall = (await session.execute(sa.select(*measures).select_from(source).where(counted))).one()
    reps = sorted((_line(str(r.assignee_id or ""), r) for r in by_rep), key=lambda x: (-x.total, x.id))
    teams = sorted((_line(str(r.team_id or ""), r) for r in by_team), key=lambda x: (-x.total, x.id))
    return SlaReport(since=start, until=end, reps=reps, teams=teams, overall=_line("", overall))
