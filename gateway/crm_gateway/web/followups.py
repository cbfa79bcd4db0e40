"""/app/followups: a rep's day of follow-ups (overdue, today, this week, later), the manager's team
view (every open task the viewer's data scope holds, by assignee, with reschedule and reassign), a
week / month calendar, and the Follow-ups section of the customer page (open tasks, the record form,
the history). Everything is asked of followups with the viewer's token, so the service's data scope
decides what is shown; times are shown and read in the viewer's zone (formatting.viewer_zone)."""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.owners import owner_choices
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.shell import session_scopes
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2 as customers_pb
from crm_proto.crm.followups.v1 import followups_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)


async def cadence_sla(caller: Caller, services: Any, users: dict[str, str]) -> Any:
    from crm_gateway.web.followup_rules import cadence_sla as table  # that module builds on this one

    return await table(caller, services, users)

# One page of open tasks is what a person can act on; the API pages through all of them.
SHOWN: Final = 200
RECORDS_SHOWN: Final = 20
BUCKETS: Final = (("overdue", N_("Overdue")), ("today", N_("Today")), ("week", N_("This week")),
                  ("later", N_("Later")))


@dataclass
class Names:
    """Display names for the dictionaries, customers and users a page shows."""

    locale: Locale
    methods: dict[str, str] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def method(self, code: str) -> str:
        return self.methods.get(code, code)

    def result(self, code: str) -> str:
        return self.results.get(code, code)

    def user(self, user_id: str) -> str:
        if not user_id:
            return messages(self.locale).gettext("Unassigned")
        if user_id.startswith("client:"):
            return messages(self.locale).gettext("API client %(client)s", client=user_id.removeprefix("client:"))
        return self.users.get(user_id) or user_id[:8]


def _label(entry: Any, locale: Locale) -> str:
    return str(entry.label_zh if locale == "zh-CN" else entry.label_en)


async def dictionary_names(caller: Caller, services: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    methods, results = await asyncio.gather(
        caller.call(services.followups.GetDictionary, pb.GetDictionaryRequest(name="method")),
        caller.call(services.followups.GetDictionary, pb.GetDictionaryRequest(name="result")))
    return ([(e.code, _label(e, caller.locale)) for e in methods.entries],
            [(e.code, _label(e, caller.locale)) for e in results.entries])


async def names_for(caller: Caller, services: Any, customer_ids: Iterable[str]) -> Names:
    """Dictionary names, the customers' names (one ListCustomers by id) and the users the viewer
    may assign (also the assignee picker); a name the viewer may not see stays its id."""
    ids = sorted({c for c in customer_ids if c})[:500]
    (methods, results), users = await asyncio.gather(dictionary_names(caller, services),
                                                     owner_choices(caller, services))
    names = Names(caller.locale, dict(methods), dict(results), users=dict(users))
    if ids:
        try:
            reply = await caller.call(services.customers.ListCustomers,
                                      customers_pb.ListCustomersRequest(ids=ids, page_size=len(ids)))
            names.customers = {c.id: c.name for c in reply.items}
        except UpstreamError:
            pass
    return names


def _moment(stamp: Any) -> datetime | None:
    return formatting.moment(stamp) if stamp.seconds or stamp.nanos else None


@dataclass
class TaskRow:
    id: str
    customer_id: str
    customer: str
    title: str
    content: str
    method: str
    method_code: str
    assignee: str
    assignee_id: str
    due: datetime
    due_text: str
    due_input: str
    clock: str
    overdue: bool
    status: str


def task_row(task: Any, names: Names, zone: ZoneInfo) -> TaskRow:
    due = _moment(task.due_at) or datetime.now(UTC)
    local = due.astimezone(zone)
    return TaskRow(
        id=task.id, customer_id=task.customer_id, customer=names.customers.get(task.customer_id, "—"),
        title=task.title, content=task.content if task.content != task.title else "", method=names.method(task.method)
        if task.method else "", method_code=task.method, assignee=names.user(task.assignee_id),
        assignee_id=task.assignee_id, due=due, due_text=formatting.datetime_text(due, zone, names.locale),
        due_input=local.strftime("%Y-%m-%dT%H:%M"), clock=local.strftime("%H:%M"), overdue=task.overdue,
        status=task.status,
    )


def bucket_of(due: datetime, now: datetime, zone: ZoneInfo) -> str:
    """overdue (past), today, this week (to Sunday), later: in the viewer's zone."""
    if due < now:
        return "overdue"
    local, today = due.astimezone(zone).date(), now.astimezone(zone).date()
    if local == today:
        return "today"
    if local <= today + timedelta(days=6 - today.weekday()):
        return "week"
    return "later"


async def viewer_zone(request: Request, caller: Caller, services: Any) -> ZoneInfo:
    return formatting.viewer_zone(request, caller.locale, await formatting.tenant_zone(caller, services))


async def _open_tasks(caller: Caller, services: Any, **filters: Any) -> tuple[list[Any], bool]:
    reply = await caller.call(services.followups.ListTasks,
                              pb.ListTasksRequest(status="open", page_size=SHOWN, **filters))
    return list(reply.items), bool(reply.next_page_token)


def is_manager(session: WebSession) -> bool:
    return "followups:manage" in session_scopes(session)


def _me(session: WebSession) -> str:
    return str(token_claims(session.token).get("uid", ""))


@router.get("/followups")
async def my_followups(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _board(request, session, services, team=False)


@router.get("/followups/team")
async def team_followups(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _board(request, session, services, team=True)


async def _board(request: Request, session: WebSession, services: Any, *, team: bool,
                 error: str | None = None) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    assignee = request.query_params.get("assignee", "") if team else "me"
    try:
        zone = await viewer_zone(request, caller, services)
        tasks, more = await _open_tasks(caller, services, assignee_id=assignee)
        names = await names_for(caller, services, (t.customer_id for t in tasks))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return render(request, "followups.html", {"session": session, "team": team, "buckets": [], "error":
                                                   problem_text(exc, locale), "tab": "team" if team else "mine",
                                                   "manager": is_manager(session)}, status_code=502)
    now = datetime.now(UTC)
    rows = [task_row(t, names, zone) for t in tasks]
    grouped: dict[str, list[TaskRow]] = {key: [] for key, _ in BUCKETS}
    for row in rows:
        grouped[bucket_of(row.due, now, zone)].append(row)
    people: dict[str, dict[str, Any]] = {}
    for row in rows:
        person = people.setdefault(row.assignee_id, {"id": row.assignee_id, "name": row.assignee, "open": 0,
                                                      "overdue": 0, "today": 0})
        person["open"] += 1
        person["overdue"] += row.overdue
        person["today"] += bucket_of(row.due, now, zone) == "today"
    sla = await cadence_sla(caller, services, names.users) if team else None  # docs/followups.md "SLA"
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    response = render(request, "followups.html", {
        "sla": sla,
        "session": session, "team": team, "tab": "team" if team else "mine", "manager": is_manager(session),
        "buckets": [(key, messages(locale).text(title), grouped[key]) for key, title in BUCKETS],
        "counts": {key: len(grouped[key]) for key, _ in BUCKETS}, "more": more,
        "people": sorted(people.values(), key=lambda p: (-p["overdue"], str(p["name"]))),
        "assignee": assignee, "users": sorted(names.users.items(), key=lambda u: u[1]),
        "flash": flash_text(flash, locale), "error": error or (flash or {}).get("text"), "zone": str(zone),
    })
    cookies.clear_flash(request, response)
    return response


def parse_local(value: str, zone: ZoneInfo) -> datetime | None:
    """A datetime-local field ("2030-03-01T09:30") as an aware time in the viewer's zone."""
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


def stamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


def _back(request: Request, default: str) -> str:
    """Where a form returns to: a path of ours only (never another site)."""
    target = str(request.query_params.get("back") or default)
    return target if target.startswith("/app/") and not target.startswith("//") else default


@router.post("/followups/tasks/{task_id}")
async def change_task(request: Request, task_id: str, session: SessionDep, services: BackendsDep) -> Response:
    """Reschedule and/or reassign from the team view or the calendar."""
    form = await request.form()
    back = _back(request, "/app/followups/team")
    if not csrf_ok(form, session):
        return RedirectResponse(back, status_code=303)
    caller = session_caller(request, session)
    zone = await viewer_zone(request, caller, services)
    raw_due = str(form.get("due_at") or "")
    due = parse_local(raw_due, zone)
    update = pb.UpdateTaskRequest(id=task_id, due_at=stamp(due))
    if "assignee_id" in form:
        update.change_assignee = True
        update.assignee_id = str(form.get("assignee_id") or "")
    cookies: WebCookies = request.app.state.web_cookies
    response = RedirectResponse(back, status_code=303)
    if raw_due and due is None:
        cookies.flash(response, flash_message(N_("Enter the date and time as shown.")))
        return response
    try:
        await caller.call(services.followups.UpdateTask, update)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, {"text": problem_text(exc, page_locale(request))})
        return response
    cookies.flash(response, flash_message(N_("Follow-up task updated.")))
    return response


# -- calendar -------------------------------------------------------------------------------------

@dataclass
class Day:
    day: date
    label: str
    today: bool
    in_month: bool
    tasks: list[TaskRow]


@router.get("/followups/calendar")
async def calendar_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    view = "month" if request.query_params.get("view") == "month" else "week"
    who = "team" if request.query_params.get("who") == "team" else "me"
    zone = await viewer_zone(request, caller, services)
    today = datetime.now(zone).date()
    try:
        anchor = date.fromisoformat(request.query_params.get("day", "")) if request.query_params.get("day") else today
    except ValueError:
        anchor = today
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        days = [start + timedelta(days=i) for i in range(7)]
        previous, following = start - timedelta(days=7), start + timedelta(days=7)
        title = messages(locale).gettext("%(start)s – %(end)s", start=formatting.date_text(days[0], locale),
                                         end=formatting.date_text(days[-1], locale))
    else:
        first = anchor.replace(day=1)
        grid_start = first - timedelta(days=first.weekday())
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        grid_end = last + timedelta(days=6 - last.weekday())
        days = [grid_start + timedelta(days=i) for i in range((grid_end - grid_start).days + 1)]
        previous = (first - timedelta(days=1)).replace(day=1)
        following = last + timedelta(days=1)
        title = f"{first.year}-{first.month:02d}" if locale == "zh-CN" else first.strftime("%B %Y")
    since = datetime.combine(days[0], time(), zone)
    until = datetime.combine(days[-1] + timedelta(days=1), time(), zone)
    try:
        reply = await caller.call(services.followups.ListTasks, pb.ListTasksRequest(
            assignee_id="me" if who == "me" else "", due_after=stamp(since), due_before=stamp(until),
            page_size=SHOWN))
        names = await names_for(caller, services, (t.customer_id for t in reply.items))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        raise
    by_day: dict[date, list[TaskRow]] = {}
    for task in reply.items:
        row = task_row(task, names, zone)
        by_day.setdefault(row.due.astimezone(zone).date(), []).append(row)
    weekdays = [formatting.weekday_name(d, locale) for d in days[:7]]
    return render(request, "followups_calendar.html", {
        "session": session, "tab": "calendar", "manager": is_manager(session), "view": view, "who": who,
        "title": title, "weekdays": weekdays, "more": bool(reply.next_page_token),
        "days": [Day(d, str(d.day), d == today, view == "week" or d.month == anchor.month, by_day.get(d, []))
                 for d in days],
        "previous": previous.isoformat(), "following": following.isoformat(), "today": today.isoformat(),
    })


# -- the customer page's section ------------------------------------------------------------------

@dataclass
class RecordRow:
    id: str
    number: str
    when: str
    method: str
    result: str
    result_code: str
    content: str
    by: str
    next_text: str


@dataclass
class CustomerFollowups:
    tasks: list[TaskRow]
    records: list[RecordRow]
    more_records: bool
    methods: list[tuple[str, str]]
    results: list[tuple[str, str]]
    now_input: str
    can_write: bool


async def customer_section(caller: Caller, services: Any, session: WebSession, request: Request,
                           customer_id: str) -> CustomerFollowups | None:
    """None when the session may not read follow-ups (or the service cannot answer)."""
    scopes = session_scopes(session)
    if "followups:read" not in scopes:
        return None
    try:
        zone = await viewer_zone(request, caller, services)
        tasks, records = await asyncio.gather(
            caller.call(services.followups.ListTasks, pb.ListTasksRequest(customer_id=customer_id, status="open",
                                                                          page_size=50)),
            caller.call(services.followups.ListRecords, pb.ListRecordsRequest(customer_id=customer_id,
                                                                              page_size=RECORDS_SHOWN)))
        names = await names_for(caller, services, [])
    except UpstreamError:
        return None
    locale = caller.locale
    (methods, results) = (list(names.methods.items()), list(names.results.items()))
    return CustomerFollowups(
        tasks=[task_row(t, names, zone) for t in tasks.items],
        records=[RecordRow(
            id=r.id, number=r.number, when=formatting.local_time(r.followed_at, zone, locale),
            method=names.method(r.method), result=names.result(r.result), result_code=r.result, content=r.content,
            by=names.user(r.followed_by),
            next_text=formatting.local_time(r.next_followup_at, zone, locale) if r.HasField("next_followup_at")
            else "") for r in records.items],
        more_records=bool(records.next_page_token), methods=methods, results=results,
        now_input=datetime.now(zone).strftime("%Y-%m-%dT%H:%M"), can_write="followups:write" in scopes,
    )
