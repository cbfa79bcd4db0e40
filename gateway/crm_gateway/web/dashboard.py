"""/app and /app/dashboard: the home dashboard, the page after sign-in for every role.

Panels are read from reporting (ClickHouse) with the session's token, so the viewer's tenant, data
scope and field policies are the service's own: a panel the role may not see (customer service and
money) answers `field_hidden` and is left out, never shown with zeros. Each panel becomes one JSON
document (`Panel.as_json`) that `static/dashboard.js` draws with the vendored ECharts, with a data-table
view, PNG download, and a click on a slice / bar that opens the customer list filtered to exactly
those customers (the panel gives each point its link; a point no list filter can describe has none).

The personal layout (which panels, in which order) is kept per user and browser in a cookie, as the
customer list's columns are, until the reporting service stores dashboards.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.settings import GatewaySettings
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, raise_if_signed_out, session_scopes
from crm_gateway.web.customer_lists import list_views
from crm_gateway.web.customers import load_choices
from crm_gateway.web.tag_choices import tenant_tags
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.customers.v1 import customers_pb2
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

LAYOUT_COOKIE: Final = "crm_dashboard"
RANGES: Final = ("3m", "12m", "ytd", "custom")
RANGE_LABELS: Final[dict[str, Msg]] = {
    "3m": N_("Last 3 months"), "12m": N_("Last 12 months"), "ytd": N_("This year"), "custom": N_("Custom"),
}
MAX_MONTHS: Final = 120
TOP_CUSTOMERS: Final = 10


# -- the viewer's choices: time range and object ------------------------------------------------------


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month `back` months before `day`'s."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Window:
    """The time range the panels cover, in whole months (reporting's spend is monthly)."""

    key: str
    start: date  # first day of the first month
    end: date  # last day of the last month

    @property
    def from_month(self) -> str:
        return self.start.strftime("%Y-%m")

    @property
    def to_month(self) -> str:
        return self.end.strftime("%Y-%m")

    @classmethod
    def parse(cls, key: str, today: date, start: str = "", end: str = "") -> tuple[Window, str]:
        """The window for the picker's choice, and an error code when a custom one is not valid."""
        if key == "3m":
            return cls(key, month_start(today, 2), month_end(today)), ""
        if key == "ytd":
            return cls(key, date(today.year, 1, 1), month_end(today)), ""
        if key == "custom":
            try:
                first = date.fromisoformat(f"{start}-01" if len(start) == 7 else start)
                last = date.fromisoformat(f"{end}-01" if len(end) == 7 else end)
            except ValueError:
                return cls("12m", month_start(today, 11), month_end(today)), "range_invalid"
            first, last = month_start(first), month_end(last)
            months = (last.year - first.year) * 12 + last.month - first.month + 1
            if months < 1 or months > MAX_MONTHS:
                return cls("12m", month_start(today, 11), month_end(today)), "range_invalid"
            return cls(key, first, last), ""
        return cls("12m", month_start(today, 11), month_end(today)), ""


@dataclass(frozen=True)
class Subject:
    """Which customers the panels count: all in the viewer's scope, a tag's, or a saved view's."""

    kind: str = "all"  # all | tag | view
    id: str = ""
    name: str = ""

    def list_filters(self) -> dict[str, str]:
        """The customer list's parameters for the same customers."""
        return {"tag_id": self.id} if self.kind == "tag" else {"view": self.id} if self.kind == "view" else {}


# -- panels ---------------------------------------------------------------------------------------------


@dataclass
class Panel:
    """One panel as the page's script draws it."""

    key: str
    kind: str  # kpis | pie | bar | line
    title: str
    subtitle: str = ""
    categories: list[str] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)  # {name, values, currency?}
    links: list[str] = field(default_factory=list)  # per category: the customer list for that point
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    kpis: list[dict[str, str]] = field(default_factory=list)  # {key, label, value, note, trend}
    note: str = ""  # shown under the panel (what it covers)
    hidden: bool = False  # the viewer's role may not see it: left out of the page

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "title": self.title, "categories": self.categories,
                "series": self.series, "links": self.links, "empty": not any(
                    any(v for v in s["values"]) for s in self.series)}


@dataclass(frozen=True)
class View:
    """What a panel source gets: the viewer's call, language, today, range and object."""

    caller: Caller
    services: Any
    locale: Locale
    today: date
    window: Window
    subject: Subject


PanelSource = Callable[[View], Awaitable[Panel]]


def _denied(exc: UpstreamError) -> bool:
    return exc.error.status == grpc.StatusCode.PERMISSION_DENIED


def _whole(subject: Subject, locale: Locale) -> str:
    """The note of a panel that counts every customer in scope while a tag or view is chosen."""
    if subject.kind == "all":
        return ""
    return messages(locale).gettext("Covers every customer you can see: this chart cannot be narrowed to a tag "
                                    "or view yet.")


async def spend_months(view: View, start: date, end: date) -> list[Any]:
    reply = await view.caller.call(view.services.reporting.GetSpendReport, pb.GetSpendReportRequest(
        from_month=start.strftime("%Y-%m"), to_month=end.strftime("%Y-%m")))
    return list(reply.rows)


def _change(now: Decimal, before: Decimal, locale: Locale) -> tuple[str, str]:
    """"+12.5%" against an earlier figure, and its direction (up / down / flat); nothing when the
    earlier figure is zero (a percentage of nothing says nothing)."""
    if before == 0:
        return "", "up" if now > 0 else "flat"
    change = (now - before) / before * 100
    text = f"{'+' if change > 0 else ''}{formatting.number(round(float(change), 1), locale)}%"
    return text, "up" if change > 0 else "down" if change < 0 else "flat"


async def kpis_panel(view: View) -> Panel:
    t = messages(view.locale)
    panel = Panel("kpis", "kpis", t.gettext("Key figures"))
    this_q = month_start(view.today, (view.today.month - 1) % 3)
    last_q, last_year_q = month_start(this_q, 3), month_start(this_q, 12)
    industries: Any = None
    try:
        industries = await view.caller.call(view.services.reporting.GetCustomersByIndustry,
                                            pb.GetCustomersByIndustryRequest())
    except UpstreamError as exc:
        if not _denied(exc):
            raise
    if industries is not None:
        panel.kpis.append({"key": "customers", "label": t.gettext("Customers"),
                           "value": formatting.number(industries.total, view.locale),
                           "note": t.gettext("in your scope, today"), "trend": "flat"})
    try:
        rows = await spend_months(view, last_year_q, month_end(view.today))
    except UpstreamError as exc:
        if not _denied(exc):
            raise
        rows = []  # the role may not see money: no spend figures at all
        money_hidden = True
    else:
        money_hidden = False
    if not money_hidden:
        by_currency: dict[str, dict[str, Decimal]] = {}
        orders_in_quarter = 0
        for row in rows:
            month = date.fromisoformat(f"{row.month}-01")
            bucket = "this" if month >= this_q else "last" if month >= last_q else (
                "year" if last_year_q <= month < month_start(last_year_q, -3) else "")
            if not bucket:
                continue
            sums = by_currency.setdefault(row.currency, {"this": Decimal(0), "last": Decimal(0), "year": Decimal(0)})
            sums[bucket] += Decimal(row.amount)
            if bucket == "this":
                orders_in_quarter += int(row.orders)
        # The currency with the most spend this quarter first; each currency stays on its own.
        ranked = sorted(by_currency.items(), key=lambda item: (-item[1]["this"], -item[1]["last"], item[0]))
        for currency, sums in ranked[:2] or [("CNY", {"this": Decimal(0), "last": Decimal(0), "year": Decimal(0)})]:
            vs_last, trend = _change(sums["this"], sums["last"], view.locale)
            vs_year, _ = _change(sums["this"], sums["year"], view.locale)
            notes = [t.gettext("%(change)s vs last quarter", change=vs_last) if vs_last else
                     t.gettext("none last quarter") if sums["this"] else "",
                     t.gettext("%(change)s vs a year ago", change=vs_year) if vs_year else ""]
            panel.kpis.append({"key": f"spend-{currency}", "label": t.gettext("Spend this quarter"),
                               "value": formatting.money(str(sums["this"]), currency, view.locale),
                               "note": " · ".join(n for n in notes if n) or t.gettext("no orders yet"),
                               "trend": trend})
        panel.kpis.append({"key": "orders", "label": t.gettext("Orders this quarter"),
                           "value": formatting.number(orders_in_quarter, view.locale),
                           "note": quarter_of(this_q), "trend": "flat"})
    panel.hidden = not panel.kpis
    panel.note = _whole(view.subject, view.locale)
    return panel


async def industry_panel(view: View) -> Panel:
    t = messages(view.locale)
    panel = Panel("industry", "pie", t.gettext("Customers by industry"), t.gettext("today"))
    try:
        reply, choices = await asyncio.gather(
            view.caller.call(view.services.reporting.GetCustomersByIndustry, pb.GetCustomersByIndustryRequest()),
            load_choices(view.caller, view.services))
    except UpstreamError as exc:
        if _denied(exc):
            panel.hidden = True
            return panel
        raise
    values: list[int] = []
    for row in sorted(reply.rows, key=lambda r: (-r.customers, r.industry)):
        name = choices.names.industry_name(row.industry) if row.industry else t.gettext("Not set")
        panel.categories.append(name)
        values.append(int(row.customers))
        # "Not set" has no list filter for exactly those customers: no link.
        panel.links.append(_list_link(view, industry=row.industry) if row.industry else "")
        panel.table_rows.append([name, formatting.number(row.customers, view.locale)])
    panel.series = [{"name": t.gettext("Customers"), "values": values}]
    panel.table_head = [t.gettext("Industry"), t.gettext("Customers")]
    panel.note = _whole(view.subject, view.locale)
    return panel


async def value_trend_panel(view: View) -> Panel:
    t = messages(view.locale)
    panel = Panel("value_trend", "line", t.gettext("Customer value trend"),
                  t.gettext("spend per quarter and currency"))
    try:
        rows = await spend_months(view, view.window.start, view.window.end)
    except UpstreamError as exc:
        if _denied(exc):
            panel.hidden = True
            return panel
        raise
    quarters: list[str] = []
    cursor = view.window.start
    while cursor <= view.window.end:
        if quarter_of(cursor) not in quarters:
            quarters.append(quarter_of(cursor))
        cursor = month_start(cursor, -1)
    sums: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        quarter = quarter_of(date.fromisoformat(f"{row.month}-01"))
        per = sums.setdefault(row.currency, {})
        per[quarter] = per.get(quarter, Decimal(0)) + Decimal(row.amount)
    panel.categories = quarters
    for currency in sorted(sums, key=lambda c: -sum(sums[c].values())):
        panel.series.append({"name": currency, "currency": currency,
                             "values": [float(sums[currency].get(q, 0)) for q in quarters]})
    panel.table_head = [t.gettext("Quarter"), *sorted(sums, key=lambda c: -sum(sums[c].values()))]
    panel.table_rows = [[q, *(formatting.money(str(sums[c].get(q, Decimal(0))), c, view.locale)
                             for c in panel.table_head[1:])] for q in quarters]
    panel.note = _whole(view.subject, view.locale)
    return panel


async def top_customers_panel(view: View) -> Panel:
    t = messages(view.locale)
    panel = Panel("top_customers", "bar", t.gettext("Top customers by value"), t.gettext("lifetime value, CNY"))
    try:
        reply = await view.caller.call(view.services.reporting.GetCustomerValueReport,
                                       pb.GetCustomerValueReportRequest(currency="CNY", limit=TOP_CUSTOMERS))
    except UpstreamError as exc:
        if _denied(exc):
            panel.hidden = True
            return panel
        raise
    ids = [r.customer_id for r in reply.rows]
    names: dict[str, str] = {}
    if ids:
        try:
            found = await view.caller.call(view.services.customers.ListCustomers, customers_pb2.ListCustomersRequest(
                ids=ids, page_size=len(ids)))
            names = {c.id: c.name for c in found.items}
        except UpstreamError:
            names = {}
    values: list[float] = []
    for row in reply.rows:
        name = names.get(row.customer_id) or t.gettext("Customer %(id)s", id=row.customer_id[:8])
        panel.categories.append(name)
        values.append(float(Decimal(row.lifetime_value)))
        panel.links.append(f"/app/customers/{row.customer_id}")
        panel.table_rows.append([name, formatting.money(row.lifetime_value, reply.currency or "CNY", view.locale),
                                 formatting.number(row.orders, view.locale), row.last_ordered_on])
    panel.series = [{"name": t.gettext("Lifetime value"), "currency": reply.currency or "CNY", "values": values}]
    panel.table_head = [t.gettext("Customer"), t.gettext("Lifetime value"), t.gettext("Orders"),
                        t.gettext("Last order")]
    panel.note = _whole(view.subject, view.locale)
    return panel


def _list_link(view: View, **filters: str) -> str:
    return "/app/customers?" + urlencode({**view.subject.list_filters(), **filters})


@dataclass(frozen=True)
class PanelKind:
    key: str
    title: Msg
    source: PanelSource
    wide: bool = False


# The catalogue: what a dashboard may hold. Funnel, region, source and the value segments join it when
# reporting answers them (docs/web.md, "Home dashboard").
CATALOGUE: Final[tuple[PanelKind, ...]] = (
    PanelKind("kpis", N_("Key figures"), kpis_panel, wide=True),
    PanelKind("industry", N_("Customers by industry"), industry_panel),
    PanelKind("value_trend", N_("Customer value trend"), value_trend_panel),
    PanelKind("top_customers", N_("Top customers by value"), top_customers_panel, wide=True),
)
BY_KEY: Final = {kind.key: kind for kind in CATALOGUE}
DEFAULT_LAYOUT: Final = tuple(kind.key for kind in CATALOGUE)


def layout_of(request: Request) -> list[str]:
    raw = request.cookies.get(LAYOUT_COOKIE)
    if raw is None:
        return list(DEFAULT_LAYOUT)
    return list(dict.fromkeys(k for k in raw.split(",") if k in BY_KEY))


# -- pages ----------------------------------------------------------------------------------------------


async def _subject(view_caller: Caller, services: Any, kind: str, ident: str) -> tuple[Subject, list[Any], list[Any]]:
    tags, views = await asyncio.gather(tenant_tags(view_caller, services), list_views(view_caller, services))
    if kind == "tag":
        match = next((tag for tag in tags if tag.id == ident), None)
        if match:
            return Subject("tag", match.id, match.name), tags, views
    if kind == "view":
        saved = next((v for v in views if v.id == ident), None)
        if saved:
            return Subject("view", saved.id, saved.name), tags, views
    return Subject(), tags, views


@router.get("/dashboard")
async def dashboard_page(
    request: Request, session: SessionDep, services: BackendsDep,
    range_key: Annotated[str, Query(alias="range")] = "12m", start: str = "", end: str = "",
    subject_key: Annotated[str, Query(alias="object")] = "all", edit: str = "",
) -> Response:
    locale = page_locale(request)
    caller = session_caller(request, session)
    today = datetime.now(formatting.viewer_zone(request, locale)).date()
    window, range_error = Window.parse(range_key, today, start, end)
    kind, _, ident = subject_key.partition(":")
    subject, tags, views = await _subject(caller, services, kind, ident)
    view = View(caller, services, locale, today, window, subject)
    layout = layout_of(request)
    can_read = "reports:read" in session_scopes(session)
    # A role without reports:read gets a page that says so, not panels that each fail.
    sources = [BY_KEY[key].source(view) for key in layout] if can_read else []
    results = await asyncio.gather(*sources, return_exceptions=True)
    panels: list[Panel] = []
    failed: list[str] = []
    for key, result in zip(layout[:len(results)], results, strict=True):
        if isinstance(result, UpstreamError):
            raise_if_signed_out(request, result)
            failed.append(messages(locale).text(BY_KEY[key].title))
        elif isinstance(result, BaseException):
            raise result
        elif not result.hidden:
            panels.append(result)
    t = messages(locale)
    return render(request, "dashboard.html", {
        "session": session, "panels": panels, "wide": {k.key for k in CATALOGUE if k.wide},
        "failed": failed, "window": window, "range_error": range_error,
        "ranges": [(key, t.text(RANGE_LABELS[key])) for key in RANGES],
        "subject": subject, "tags": tags, "views": views, "editing": bool(edit),
        "catalogue": [(k.key, t.text(k.title), k.key in layout) for k in CATALOGUE],
        "layout": layout, "can_read": can_read,
    })


@router.get("")
async def home() -> RedirectResponse:
    """/app: the home dashboard."""
    return RedirectResponse("/app/dashboard", status_code=302)


@router.post("/dashboard/layout")
async def change_layout(request: Request, session: SessionDep) -> Response:
    """Add, remove or move a panel of the viewer's own dashboard (kept in a cookie), or reset it."""
    form = await request.form()
    response = RedirectResponse("/app/dashboard?edit=1", status_code=303)
    if not csrf_ok(form, session):
        return response
    layout = layout_of(request)
    action, key = str(form.get("action") or ""), str(form.get("panel") or "")
    if action == "reset":
        layout = list(DEFAULT_LAYOUT)
    elif key in BY_KEY:
        if action == "add" and key not in layout:
            layout.append(key)
        elif action == "remove" and key in layout:
            layout.remove(key)
        elif action in ("up", "down") and key in layout:
            at = layout.index(key)
            other = at - 1 if action == "up" else at + 1
            if 0 <= other < len(layout):
                layout[at], layout[other] = layout[other], layout[at]
    settings: GatewaySettings = request.app.state.settings
    response.set_cookie(LAYOUT_COOKIE, ",".join(layout), max_age=365 * 24 * 3600, path="/app",
                        httponly=True, samesite="lax", secure=settings.secure_cookies)
    return response
