"""Numbers, money, lists, dates and times as a page shows them: CLDR's conventions for the page's
locale (Babel), in the viewer's time zone.

Time zone, one rule for every page: the user's own time zone (account page; the token's
`zoneinfo` claim, kept in the session), else the tenant's (tenant settings, read at sign-in and at
every token refresh), else Asia/Shanghai for zh-CN and UTC for en. Templates format times with
`when(...)` / `day(...)` (templating.render), Python with `datetime_text` and `viewer_zone`.

Table cells show times as `2026-03-18 14:05` in both languages (compact, sortable, unambiguous);
recent events read "3 minutes ago" (CLDR's relative time, in either language), money per locale
(`¥1,200.50` in zh-CN, `CN¥1,200.50` in en: the symbol CLDR uses where the currency is not the
local one)."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal
from fastapi import Request

from crm_gateway.api.common import timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import BABEL_LOCALES, Locale, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web.session import WebSession, current_session
from crm_proto.crm.identity.v1 import identity_pb2

DEFAULT_ZONES: Final[dict[Locale, str]] = {"zh-CN": "Asia/Shanghai", "en": "UTC"}
# The one pattern of times in tables and facts (see the module docstring).
DATETIME_PATTERN: Final = "yyyy-MM-dd HH:mm"
DATE_PATTERN: Final = "yyyy-MM-dd"


def cldr(locale: Locale) -> str:
    return BABEL_LOCALES[locale]


# -- numbers and lists ------------------------------------------------------------------------------


def number(value: int | float | Decimal, locale: Locale) -> str:
    return str(format_decimal(value, locale=cldr(locale)))


def money(amount: str, currency: str, locale: Locale) -> str:
    """An amount as the API gives it (a decimal string) in `currency`; every decimal it has is
    shown (at least the currency's usual ones), so no amount is rounded on screen."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return f"{amount} {currency}"
    try:
        return str(format_currency(value, currency, locale=cldr(locale), decimal_quantization=False))
    except (ValueError, KeyError):  # not an ISO 4217 code CLDR knows
        return f"{currency} {format_decimal(value, locale=cldr(locale), decimal_quantization=False)}"


def value_list(items: Iterable[str], locale: Locale) -> str:
    """Several values of one filter ("VIP, Key account"); zh-CN separates them with its enumeration
    comma. Not CLDR's list patterns: those say "and" / "or", which is the filter's meaning to state."""
    # TRANSLATORS: the separator between values listed side by side.
    return str(messages(locale).pgettext("list separator", ", ")).join(items)


# -- time zones ------------------------------------------------------------------------------------


def zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def session_zone(session: WebSession | None, locale: Locale, tenant_zone: str = "") -> ZoneInfo:
    """The rule itself: the user's zone, else the tenant's, else the locale's default."""
    return (zone_named(session.time_zone if session else "") or zone_named(session.tenant_zone if session else "")
            or zone_named(tenant_zone) or ZoneInfo(DEFAULT_ZONES.get(locale, "UTC")))


# The signed-in session of the request being served (set by the session middleware, web/auth.py),
# for code that formats a time without the request at hand (`at`).
CURRENT_SESSION: ContextVar[WebSession | None] = ContextVar("crm_web_session", default=None)


def at(value: Any, locale: Locale) -> str:
    """A time (datetime, proto Timestamp, RFC 3339) in the current viewer's zone: the one rule."""
    return datetime_text(moment(value), session_zone(CURRENT_SESSION.get(), locale), locale)


def on(value: Any, locale: Locale) -> str:
    """A time's date in the current viewer's zone."""
    return date_text(moment(value), locale, session_zone(CURRENT_SESSION.get(), locale))


def viewer_zone(request: Request, locale: Locale, tenant_zone: str = "") -> ZoneInfo:
    """The time zone this request's pages show times in (session_zone of the signed-in user)."""
    return session_zone(current_session(request), locale, tenant_zone)


async def tenant_zone(caller: Caller, services: Any) -> str:
    """The tenant's IANA time zone from identity (any signed-in user may read it); "" if unavailable."""
    try:
        tenant = await caller.call(services.identity.GetTenant, identity_pb2.GetTenantRequest())
    except UpstreamError:
        return ""
    return str(tenant.time_zone)


async def page_zone(caller: Caller, services: Any, request: Request) -> ZoneInfo:
    """viewer_zone; identity is asked for the tenant's zone only for a session made before the
    session kept it."""
    session = current_session(request)
    if session is not None and (session.time_zone or session.tenant_zone):
        return session_zone(session, caller.locale)
    return viewer_zone(request, caller.locale, await tenant_zone(caller, services))


# -- dates and times -------------------------------------------------------------------------------


def datetime_text(when: datetime | None, zone: ZoneInfo, locale: Locale) -> str:
    """A moment as the viewer's wall-clock time ("" for none)."""
    if when is None:
        return ""
    return str(format_datetime(when, DATETIME_PATTERN, tzinfo=zone, locale=cldr(locale)))


def date_text(day: date | datetime | None, locale: Locale, zone: ZoneInfo | None = None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime) and zone is not None:
        day = day.astimezone(zone)
    return str(format_date(day, DATE_PATTERN, locale=cldr(locale)))


def weekday_name(day: date, locale: Locale) -> str:
    """The short weekday name in the locale (Babel: "Mon" in English)."""
    return str(format_date(day, "EEE", locale=cldr(locale)))


def local_time(value: Any, zone: ZoneInfo, locale: Locale) -> str:
    """A proto timestamp as the viewer's wall-clock time ("" when unset)."""
    return datetime_text(timestamp(value), zone, locale)


def moment(value: Any) -> datetime | None:
    """A datetime, a proto Timestamp or an RFC 3339 string as an aware datetime (None when unset)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
    if isinstance(value, str):
        try:
            return moment(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return timestamp(value)


def zone_label(zone: ZoneInfo, locale: Locale) -> str:
    """The zone as shown next to times ("Asia/Shanghai (UTC+08:00)")."""
    offset = datetime.now(zone).strftime("%z")
    return f"{zone.key} (UTC{offset[:3]}:{offset[3:]})"


def relative(when: datetime, now: datetime, locale: Locale, zone: ZoneInfo) -> str:
    """"just now", "3 minutes ago", "yesterday 14:05", "5 days ago", then the date and time."""
    local, today = when.astimezone(zone), now.astimezone(zone)
    age = now - when
    if age < timedelta(minutes=1):
        return messages(locale).gettext("just now")
    if age < timedelta(hours=1):
        return ago(timedelta(minutes=age // timedelta(minutes=1)), "minute", locale)
    if local.date() == today.date():
        return ago(timedelta(hours=age // timedelta(hours=1)), "hour", locale)
    if local.date() == today.date() - timedelta(days=1):
        clock = format_datetime(local, "HH:mm", locale=cldr(locale))
        return messages(locale).gettext("yesterday %(time)s", time=clock)
    if age < timedelta(days=7):
        return ago(timedelta(days=(today.date() - local.date()).days), "day", locale)
    return datetime_text(when, zone, locale)


def ago(age: timedelta, unit: Literal["minute", "hour", "day"], locale: Locale) -> str:
    return str(format_timedelta(-age, granularity=unit, threshold=1000, add_direction=True, locale=cldr(locale)))
