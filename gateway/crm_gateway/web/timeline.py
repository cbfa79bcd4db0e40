"""The Timeline on the customer detail page: entries from CustomerActivityService, described in the
page's locale with relative times in the viewer's time zone (pages carry no script, so times are
made on the server; "load more" asks for a longer page).

Time zone: the `crm_tz` cookie when it holds an IANA name, else Asia/Shanghai for zh-CN and UTC
for en (users have no time-zone setting yet)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from google.protobuf import json_format

from crm_gateway.api.common import timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import Locale
from crm_gateway.problems import UpstreamError
from crm_gateway.web.strings import UI
from crm_proto.crm.customers.v1 import activity_pb2
from crm_proto.crm.identity.v1 import identity_pb2

STEP: Final = 20
MAX_SHOWN: Final = 500
TZ_COOKIE: Final = "crm_tz"
DEFAULT_ZONES: Final[dict[str, str]] = {"zh-CN": "Asia/Shanghai", "en": "UTC"}
ICONS: Final[dict[str, str]] = {
    "created": "+", "updated": "✎", "owner_changed": "⇄", "status_changed": "◆", "deleted": "×",
    "restored": "↺", "revealed": "◉", "tag_applied": "#", "tag_removed": "#", "task_created": "☐",
    "task_completed": "✓", "order_recorded": "¥",
}
# Field -> UI string key of its label (custom fields show their key).
FIELD_LABELS: Final[dict[str, str]] = {
    "name": "create.name", "type": "create.type", "contact_person": "create.contact_person",
    "mobile": "create.mobile", "phone": "create.phone", "email": "create.email", "industry": "create.industry",
    "region": "create.region", "source": "create.source", "first_contact_date": "detail.first_contact_date",
    "employees": "detail.employees", "annual_revenue": "detail.annual_revenue",
    "annual_revenue_currency": "detail.currency", "credit_code": "detail.credit_code", "needs": "detail.needs",
    "notes": "detail.notes", "owner_id": "detail.owner", "status": "col.status",
    "resident_id": "sensitive.resident_id", "bank_card": "sensitive.bank_card", "code": "col.code",
}


def viewer_zone(request: Request, locale: Locale) -> ZoneInfo:
    name = request.cookies.get(TZ_COOKIE) or DEFAULT_ZONES.get(locale, "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONES.get(locale, "UTC"))


def relative(when: datetime, now: datetime, locale: Locale, zone: ZoneInfo) -> str:
    """"3 分钟前", "yesterday 14:05", "5 days ago", or the date for older ones."""
    local, today = when.astimezone(zone), now.astimezone(zone)
    age = now - when
    if age < timedelta(minutes=1):
        return UI.text("time.just_now", locale)
    if age < timedelta(hours=1):
        return UI.text("time.minutes", locale, n=int(age.total_seconds() // 60))
    if local.date() == today.date():
        return UI.text("time.hours", locale, n=int(age.total_seconds() // 3600))
    if local.date() == today.date() - timedelta(days=1):
        return UI.text("time.yesterday", locale, time=local.strftime("%H:%M"))
    if age < timedelta(days=7):
        return UI.text("time.days", locale, n=(today.date() - local.date()).days)
    return local.strftime("%Y-%m-%d %H:%M")


@dataclass
class Entry:
    kind: str
    icon: str
    who: str
    what: str
    details: list[str] = field(default_factory=list)
    when: str = ""
    when_exact: str = ""
    iso: str = ""


def _label(name: str, locale: Locale) -> str:
    if name.startswith("cf."):
        return name[3:]
    key = FIELD_LABELS.get(name)
    return UI.text(key, locale) if key else name


def _value(name: str, value: Any, locale: Locale, people: dict[str, str]) -> str:
    if value is None or value == "":
        return UI.text("timeline.empty_value", locale)
    if name == "status":
        return UI.get(f"status.{value}", locale) or str(value)
    if name == "owner_id":
        return people.get(str(value), str(value)[:8] + "…")
    if name == "type":
        return UI.get(f"type.{value}", locale) or str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _changes(data: dict[str, Any], locale: Locale, people: dict[str, str]) -> list[str]:
    out = []
    for change in data.get("changes", []):
        name = str(change.get("field", ""))
        if change.get("changed"):
            out.append(f"{_label(name, locale)}: {UI.text('timeline.changed', locale)}")
        elif "from" in change:
            old = _value(name, change.get("from"), locale, people)
            new = _value(name, change.get("to"), locale, people)
            out.append(f"{_label(name, locale)}: {old} → {new}")
        elif name == "status":
            initial = _value(name, change.get("to"), locale, people)
            out.append(UI.text("timeline.initial_status", locale, status=initial))
    return out


def describe(message: Any, locale: Locale, zone: ZoneInfo, now: datetime, me: str,
             people: dict[str, str]) -> Entry:
    data: dict[str, Any] = json_format.MessageToDict(message.data, preserving_proto_field_name=True)
    kind = message.kind
    actor = message.actor
    if not actor:  # a rule's work says so; followups' own events name nobody
        automatic = data.get("source") == "rule" or bool(data.get("cadence_rule_id"))
        who = UI.text("timeline.automatic" if automatic else "timeline.someone", locale)
    elif actor == me:
        who = UI.text("timeline.you", locale)
    elif actor.startswith("client:"):
        who = UI.text("timeline.api_client", locale)
    else:
        who = people.get(actor, actor[:8] + "…")
    details = _changes(data, locale, people)
    if kind == "status_changed" and data.get("reason"):
        details.append(UI.text("timeline.reason", locale, reason=data["reason"]))
    elif kind == "revealed":
        details.append(", ".join(_label(str(f), locale) for f in data.get("fields", [])))
    elif kind in ("tag_applied", "tag_removed"):
        tag = f"「{data.get('tag_name') or data.get('tag_id', '')}」"
        details.append(tag + (f" · {UI.text('timeline.by_rule', locale)}" if data.get("source") == "rule" else ""))
    elif kind in ("task_created", "task_completed"):
        text = f"「{data.get('title', '')}」"
        due = str(data.get("due_at") or "")
        if due and kind == "task_created":
            with contextlib.suppress(ValueError):
                due = datetime.fromisoformat(due.replace("Z", "+00:00")).astimezone(zone).strftime("%Y-%m-%d")
            text += f" · {UI.text('timeline.due', locale, date=due)}"
        details.append(text)
    elif kind == "order_recorded":
        parts = [str(data.get(k) or "") for k in ("external_id", "amount", "currency", "status")]
        details.append(" · ".join(p for p in parts if p))
    when = timestamp(message.occurred_at)
    return Entry(
        kind=kind, icon=ICONS.get(kind, "•"), who=who,
        what=UI.get(f"timeline.kind.{kind}", locale) or kind, details=details,
        when=relative(when, now, locale, zone) if when else "",
        when_exact=when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if when else "",
        iso=when.isoformat() if when else "",
    )


@dataclass
class Timeline:
    entries: list[Entry] = field(default_factory=list)
    more: bool = False
    next_shown: int = STEP
    error: str | None = None


def shown_count(raw: str | None) -> int:
    try:
        value = int(raw or STEP)
    except ValueError:
        value = STEP
    return max(STEP, min(value, MAX_SHOWN))


async def load(caller: Caller, services: Any, request: Request, customer_id: str, shown: int, me: str,
               people: dict[str, str]) -> Timeline:
    try:
        reply = await caller.call(services.customer_activity.ListCustomerActivity,
                                  activity_pb2.ListCustomerActivityRequest(customer_id=customer_id, page_size=shown))
    except UpstreamError as exc:
        return Timeline(error=exc.error.message or exc.error.code)
    zone = viewer_zone(request, caller.locale)
    now = datetime.now(zone)
    return Timeline(
        entries=[describe(m, caller.locale, zone, now, me, people) for m in reply.items],
        more=bool(reply.next_page_token) and shown < MAX_SHOWN, next_shown=min(shown + STEP, MAX_SHOWN),
    )


async def load_people(caller: Caller, services: Any, scopes: list[str]) -> dict[str, str]:
    """User id -> name, when the viewer may list users (admins); others see short ids."""
    if "users:manage" not in scopes:
        return {}
    try:
        reply = await caller.call(services.identity.ListUsers, identity_pb2.ListUsersRequest(page_size=500))
    except UpstreamError:
        return {}
    return {u.id: u.display_name or u.email for u in reply.items}
