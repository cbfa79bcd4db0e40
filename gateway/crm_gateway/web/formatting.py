"""Numbers, money, lists, dates and times as a page shows them: CLDR's conventions for the page's
locale (Babel), in the viewer's time zone.

Time zone: the `crm_tz` cookie when the user chose one (an IANA name), else the tenant's time zone
(identity's tenant settings), else Asia/Shanghai for zh-CN and UTC for en.

Table cells show times as `2026-03-18 14:05` in both languages (compact, sortable, unambiguous);
recent events read "3 minutes ago" (CLDR's relative time, in either language), money per locale
(`¥1,200.50` in zh-CN, `CN¥1,200.50` in en: the symbol CLDR uses where the currency is not the
local one)."""

from __future__ import annotations

from collections.abc import Iterable
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
from crm_proto.crm.identity.v1 import identity_pb2

TZ_COOKIE: Final = "crm_tz"
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


def viewer_zone(request: Request, locale: Locale, tenant_zone: str = "") -> ZoneInfo:
    """The user's choice (cookie), else the tenant's zone, else the locale's default."""
    return (zone_named(request.cookies.get(TZ_COOKIE) or "") or zone_named(tenant_zone)
            or ZoneInfo(DEFAULT_ZONES.get(locale, "UTC")))


async def tenant_zone(caller: Caller, services: Any) -> str:
    """The tenant's IANA time zone from identity (any signed-in user may read it); "" if unavailable."""
    try:
        tenant = await caller.call(services.identity.GetTenant, identity_pb2.GetTenantRequest())
    except UpstreamError:
        return ""
    return str(tenant.time_zone)


async def page_zone(caller: Caller, services: Any, request: Request) -> ZoneInfo:
    """viewer_zone with the tenant's zone read from identity."""
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


def local_time(value: Any, zone: ZoneInfo, locale: Locale) -> str:
    """A proto timestamp as the viewer's wall-clock time ("" when unset)."""
    return datetime_text(timestamp(value), zone, locale)


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
