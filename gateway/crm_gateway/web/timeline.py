"""The Timeline on the customer detail page: entries from CustomerActivityService, described in the
page's locale with relative times in the viewer's time zone (pages carry no script, so times are
made on the server; "load more" asks for a longer page). People are named by the customers service
(`actor_name`, owner changes' `from_name` / `to_name`); API clients by their client id; rules as
"Rule".

Times are in the viewer's time zone (web/formatting.py)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import Request
from google.protobuf import json_format

from crm_gateway.api.common import timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.labels import LABELS, label
from crm_proto.crm.customers.v1 import activity_pb2

STEP: Final = 20
MAX_SHOWN: Final = 500
ICONS: Final[dict[str, str]] = {
    "created": "+", "updated": "✎", "owner_changed": "⇄", "status_changed": "◆", "deleted": "×",
    "restored": "↺", "revealed": "◉", "tag_applied": "#", "tag_removed": "#", "task_created": "☐",
    "task_completed": "✓", "order_recorded": "¥", "followup_recorded": "✆",
}
# Field -> its label (custom fields show their key).
FIELD_LABELS: Final[dict[str, Msg]] = LABELS["customer_field"]


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
    return messages(locale).text(key) if key else name


def short_id(value: str) -> str:
    return value[:8] + "…" if len(value) > 8 else value


def _value(name: str, value: Any, locale: Locale, shown_name: str = "") -> str:
    if value is None or value == "":
        return messages(locale).gettext("empty")
    if name == "status":
        return label("status", str(value), locale)
    if name == "owner_id":
        return shown_name or short_id(str(value))
    if name == "type":
        return label("type", str(value), locale)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _changes(data: dict[str, Any], locale: Locale) -> list[str]:
    out = []
    for change in data.get("changes", []):
        name = str(change.get("field", ""))
        if change.get("changed"):
            out.append(f"{_label(name, locale)}: " + messages(locale).gettext("changed"))
        elif "from" in change:
            old = _value(name, change.get("from"), locale, str(change.get("from_name") or ""))
            new = _value(name, change.get("to"), locale, str(change.get("to_name") or ""))
            out.append(f"{_label(name, locale)}: {old} → {new}")
        elif name == "status":
            initial = _value(name, change.get("to"), locale)
            out.append(messages(locale).gettext("Status: %(status)s", status=initial))
    return out


def who_acted(message: Any, data: dict[str, Any], locale: Locale, me: str) -> str:
    actor = message.actor
    if not actor:  # a rule's work says so; other automatic work (a merge moving tags) names nobody
        by_rule = data.get("source") == "rule" or bool(data.get("cadence_rule_id"))
        return messages(locale).text(N_("Rule") if by_rule else N_("Automatic"))
    if actor == me:
        return messages(locale).gettext("You")
    if actor.startswith("client:"):
        return messages(locale).gettext("API client %(client)s", client=actor.removeprefix("client:"))
    return message.actor_name or short_id(actor)


def describe(message: Any, locale: Locale, zone: ZoneInfo, now: datetime, me: str) -> Entry:
    data: dict[str, Any] = json_format.MessageToDict(message.data, preserving_proto_field_name=True)
    kind = message.kind
    who = who_acted(message, data, locale, me)
    details = _changes(data, locale)
    if kind == "status_changed" and data.get("reason"):
        details.append(messages(locale).gettext("Reason: %(reason)s", reason=data["reason"]))
    elif kind == "revealed":
        details.append(", ".join(_label(str(f), locale) for f in data.get("fields", [])))
    elif kind in ("tag_applied", "tag_removed"):
        # TRANSLATORS: quotation marks around the name of a tag or a follow-up task.
        tag = messages(locale).gettext("“%(name)s”", name=data.get("tag_name") or data.get("tag_id", ""))
        by_rule = messages(locale).gettext("by an automatic rule") if data.get("source") == "rule" else ""
        details.append(tag + (f" · {by_rule}" if by_rule else ""))
    elif kind in ("task_created", "task_completed"):
        text = messages(locale).gettext("“%(name)s”", name=data.get("title", ""))
        due = str(data.get("due_at") or "")
        if due and kind == "task_created":
            with contextlib.suppress(ValueError):
                due = formatting.date_text(datetime.fromisoformat(due.replace("Z", "+00:00")), locale, zone)
            text += " · " + messages(locale).gettext("due %(date)s", date=due)
        details.append(text)
    elif kind == "followup_recorded":
        # Method and result by their names in the reader's language as they were when logged.
        suffix = "zh" if locale == "zh-CN" else "en"
        method = str(data.get(f"method_{suffix}") or data.get("method") or "")
        result = str(data.get(f"result_{suffix}") or data.get("result") or "")
        details.append(" · ".join(p for p in (method, result) if p))
        if data.get("content"):
            details.append(str(data["content"]))
        nxt = str(data.get("next_followup_at") or "")
        if nxt:
            with contextlib.suppress(ValueError):
                nxt = formatting.date_text(datetime.fromisoformat(nxt.replace("Z", "+00:00")), locale, zone)
            details.append(messages(locale).gettext("next follow-up %(date)s", date=nxt))
    elif kind == "order_recorded":
        parts = [str(data.get(k) or "") for k in ("external_id", "amount", "currency", "status")]
        details.append(" · ".join(p for p in parts if p))
    when = timestamp(message.occurred_at)
    return Entry(
        kind=kind, icon=ICONS.get(kind, "•"), who=who,
        what=label("timeline.kind", kind, locale), details=details,
        when=formatting.relative(when, now, locale, zone) if when else "",
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
            formatting.tenant_zone(caller, services),
        )
    except UpstreamError as exc:
        return Timeline(zone=formatting.viewer_zone(request, caller.locale), error=exc.error.message or exc.error.code)
    zone = formatting.viewer_zone(request, caller.locale, tenant_zone_name)
    now = datetime.now(zone)
    return Timeline(
        zone=zone, entries=[describe(m, caller.locale, zone, now, me) for m in reply.items],
        more=bool(reply.next_page_token) and shown < MAX_SHOWN, next_shown=min(shown + STEP, MAX_SHOWN),
    )
