"""The Timeline on the customer detail page: entries from CustomerActivityService, described in the
page's locale with relative times in the viewer's time zone (pages carry no script, so times are
made on the server; "load more" asks for a longer page). People are named by the customers service
(`actor_name`, owner changes' `from_name` / `to_name`); API clients by their client id; rules as
"Rule".

Time zone: the `crm_tz` cookie when the user chose one (an IANA name), else the tenant's time zone
(identity's tenant settings), else Asia/Shanghai for zh-CN and UTC for en."""

from __future__ import annotations

import asyncio
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


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def viewer_zone(request: Request, locale: Locale, tenant_zone: str = "") -> ZoneInfo:
    """The user's choice (cookie), else the tenant's zone, else the locale's default."""
    return (_zone(request.cookies.get(TZ_COOKIE) or "") or _zone(tenant_zone)
            or ZoneInfo(DEFAULT_ZONES.get(locale, "UTC")))


async def tenant_zone(caller: Caller, services: Any) -> str:
    """The tenant's IANA time zone from identity (any signed-in user may read it); "" if unavailable."""
    try:
        tenant = await caller.call(services.identity.GetTenant, identity_pb2.GetTenantRequest())
    except UpstreamError:
        return ""
    return str(tenant.time_zone)


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


def short_id(value: str) -> str:
    return value[:8] + "…" if len(value) > 8 else value


def _value(name: str, value: Any, locale: Locale, shown_name: str = "") -> str:
    if value is None or value == "":
        return UI.text("timeline.empty_value", locale)
    if name == "status":
        return UI.get(f"status.{value}", locale) or str(value)
    if name == "owner_id":
        return shown_name or short_id(str(value))
    if name == "type":
        return UI.get(f"type.{value}", locale) or str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _changes(data: dict[str, Any], locale: Locale) -> list[str]:
    out = []
    for change in data.get("changes", []):
        name = str(change.get("field", ""))
        if change.get("changed"):
            out.append(f"{_label(name, locale)}: {UI.text('timeline.changed', locale)}")
        elif "from" in change:
            old = _value(name, change.get("from"), locale, str(change.get("from_name") or ""))
            new = _value(name, change.get("to"), locale, str(change.get("to_name") or ""))
            out.append(f"{_label(name, locale)}: {old} → {new}")
        elif name == "status":
            initial = _value(name, change.get("to"), locale)
            out.append(UI.text("timeline.initial_status", locale, status=initial))
    return out


def who_acted(message: Any, data: dict[str, Any], locale: Locale, me: str) -> str:
    actor = message.actor
    if not actor:  # a rule's work says so; other automatic work (a merge moving tags) names nobody
        by_rule = data.get("source") == "rule" or bool(data.get("cadence_rule_id"))
        return UI.text("timeline.rule" if by_rule else "timeline.automatic", locale)
    if actor == me:
        return UI.text("timeline.you", locale)
    if actor.startswith("client:"):
        return UI.text("timeline.api_client_named", locale, client=actor.removeprefix("client:"))
    return message.actor_name or short_id(actor)


def describe(message: Any, locale: Locale, zone: ZoneInfo, now: datetime, me: str) -> Entry:
    data: dict[str, Any] = json_format.MessageToDict(message.data, preserving_proto_field_name=True)
    kind = message.kind
    who = who_acted(message, data, locale, me)
    details = _changes(data, locale)
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
    # The zone the page shows times in (viewer_zone), for the rest of the page too.
    zone: ZoneInfo
    entries: list[Entry] = field(default_factory=list)
    more: bool = False
    next_shown: int = STEP
    error: str | None = None


def local_time(value: Any, zone: ZoneInfo) -> str:
    """A proto timestamp as the viewer's wall-clock time ("" when unset)."""
    stamp = timestamp(value)
    return stamp.astimezone(zone).strftime("%Y-%m-%d %H:%M") if stamp else ""


async def page_zone(caller: Caller, services: Any, request: Request) -> ZoneInfo:
    """viewer_zone with the tenant's zone read from identity."""
    return viewer_zone(request, caller.locale, await tenant_zone(caller, services))


def shown_count(raw: str | None) -> int:
    try:
        value = int(raw or STEP)
    except ValueError:
        value = STEP
    return max(STEP, min(value, MAX_SHOWN))


async def load(caller: Caller, services: Any, request: Request, customer_id: str, shown: int, me: str) -> Timeline:
    try:
        reply, tenant_zone_name = await asyncio.gather(
            caller.call(services.customer_activity.ListCustomerActivity,
                        activity_pb2.ListCustomerActivityRequest(customer_id=customer_id, page_size=shown)),
            tenant_zone(caller, services),
        )
    except UpstreamError as exc:
        return Timeline(zone=viewer_zone(request, caller.locale), error=exc.error.message or exc.error.code)
    zone = viewer_zone(request, caller.locale, tenant_zone_name)
    now = datetime.now(zone)
    return Timeline(
        zone=zone, entries=[describe(m, caller.locale, zone, now, me) for m in reply.items],
        more=bool(reply.next_page_token) and shown < MAX_SHOWN, next_shown=min(shown + STEP, MAX_SHOWN),
    )
