"""/app and /app/dashboard: the home dashboard, the page after sign-in for every role.

Every figure comes from reporting's dashboard panels (`GetDashboardPanel`, `GetFunnel`; docs/reporting.md,
"Dashboards"), called with the session's token, so the viewer's tenant, data scope and field policies are
compiled into the ClickHouse query by the service: a panel the role may not see answers `field_hidden` and
is left out, the KPI panel leaves its money cards out (`omitted_fields`), never shown as zeros. Each panel
becomes one JSON document (`Panel.as_json`) that `static/dashboard.js` draws with the vendored ECharts,
with a data-table view, PNG download, and a click on a slice / bar that opens the customer list for
exactly that point (the point's `filter`; a point no list filter expresses has no link).

The layout (which panels, in which order) is the viewer's own dashboard (`GetMyDashboard` /
`PutMyDashboard`), else the tenant default an admin published (`PutDefaultDashboard`), else the built-in one.
The funnel is not a layout panel (reporting answers it as `GetFunnel`): it shows below the key figures.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.dashboards import view_filters, viewer_segments
from crm_gateway.clients import Caller
from crm_gateway.dictionary_names import DictionaryNames
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import (
    SessionDep,
    csrf_ok,
    flash_message,
    flash_text,
    label,
    problem_text,
    raise_if_signed_out,
    session_scopes,
)
from crm_gateway.web.customer_lists import list_views
from crm_gateway.web.customers import load_choices
from crm_gateway.web.session import WebCookies
from crm_gateway.web.tag_choices import tenant_tags
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

RANGES: Final = ("3m", "12m", "ytd", "custom")
RANGE_LABELS: Final[dict[str, Msg]] = {
    "3m": N_("Last 3 months"), "12m": N_("Last 12 months"), "ytd": N_("This year"), "custom": N_("Custom"),
}
MAX_DAYS: Final = 3660  # reporting refuses a custom range over ten years
TOP_CUSTOMERS: Final = 10
PANEL_TITLES: Final[dict[str, Msg]] = {
    "kpis": N_("Key figures"),
    "funnel": N_("Sales funnel"),
    "industry": N_("Customers by industry"),
    "region": N_("Customers by region"),
    "value_trend": N_("Customer value trend"),
    "new_by_source": N_("New customers by source"),
    "top_customers": N_("Top customers by value"),
    "csat": N_("Customer satisfaction (CSAT)"),
    "nps": N_("Net promoter score (NPS)"),
    "sentiment_trend": N_("Feedback sentiment trend"),
    "complaint_categories": N_("Complaints by category"),
}
# Satisfaction panels (feedback from followups): in the catalogue, not in the built-in layout.
SATISFACTION: Final = ("csat", "nps", "sentiment_trend", "complaint_categories")
SENTIMENT_NAMES: Final[dict[str, Msg]] = {"positive": N_("Positive"), "neutral": N_("Neutral"),
                                          "negative": N_("Negative")}
CATEGORY_NAMES: Final[dict[str, Msg]] = {"product": N_("Product"), "service": N_("Service"), "price": N_("Price"),
                                         "other": N_("Other")}
# Panels drawn across both columns of the grid.
WIDE: Final = frozenset({"kpis", "funnel", "top_customers"})
# The built-in order (reporting's `layouts.BUILTIN`), for "Restore the default layout".
BUILTIN: Final = ("kpis", "value_trend", "industry", "region", "new_by_source", "top_customers")
CATALOGUE: Final = (*BUILTIN, *SATISFACTION)


# -- the viewer's choices: time range and object ------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The time range the panels cover, as reporting takes it (`range`, and `from`/`to` for custom)."""

    key: str
    start: date | None = None  # custom only
    end: date | None = None

    @property
    def params(self) -> dict[str, str]:
        if self.key == "custom" and self.start and self.end:
            return {"range": "custom", "from": self.start.isoformat(), "to": self.end.isoformat()}
        return {"range": self.key}

    @classmethod
    def parse(cls, key: str, start: str = "", end: str = "") -> tuple[Window, bool]:
        """The window for the picker's choice, and whether a custom one was refused (then 12 months)."""
        if key in ("3m", "ytd"):
            return cls(key), False
        if key == "custom":
            try:
                first, last = date.fromisoformat(start), date.fromisoformat(end)
            except ValueError:
                return cls("12m"), True
            if first > last or (last - first).days > MAX_DAYS:
                return cls("12m"), True
            return cls(key, first, last), False
        return cls("12m"), False


@dataclass(frozen=True)
class Subject:
    """Which customers the panels count: all in the viewer's scope, a tag's, or a saved view's."""

    kind: str = "all"  # all | tag | view | segment
    id: str = ""
    name: str = ""
    # A saved segment's definition (object segment:<id>), as the viewer's segment list holds it.
    definition: Any = None

    @property
    def object(self) -> str:
        return f"{self.kind}:{self.id}" if self.kind != "all" else "all"


# -- panels ---------------------------------------------------------------------------------------------


@dataclass
class Panel:
    """One panel as the page shows it."""

    key: str
    kind: str  # kpis | pie | bar | hbar | line | funnel
    title: str
    subtitle: str = ""
    categories: list[str] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)  # {name, values, currency?}
    links: list[str] = field(default_factory=list)  # per category: the customer list for that point
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    kpis: list[dict[str, str]] = field(default_factory=list)  # {key, label, value, note, trend, link}
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "categories": self.categories, "series": self.series,
                "links": self.links, "empty": not any(any(v for v in s["values"]) for s in self.series)}


@dataclass(frozen=True)
class Context:
    """What turning a reply into a panel needs: the language, dictionary names, today."""

    locale: Locale
    names: DictionaryNames
    today: date


def list_link(point_filter: Any) -> str:
    """The customer list for exactly a point's customers ("" when no list filter expresses them)."""
    filters = dict(point_filter)
    return "/app/customers?" + urlencode(sorted(filters.items())) if filters else ""


def _decimal(value: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def _percent(rate: str, locale: Locale) -> str:
    """"0.2500" -> "25%" ("—" when the rate has no base)."""
    if not rate:
        return "—"
    return f"{formatting.number(round(float(_decimal(rate)) * 100, 1), locale)}%"


def _change(now: Decimal, before: Decimal, locale: Locale) -> tuple[str, str]:
    """"+12.5%" against an earlier figure and its direction; nothing when the earlier figure is zero
    (a percentage of nothing says nothing)."""
    if before == 0:
        return "", "up" if now > 0 else "flat"
    change = (now - before) / before * 100
    text = f"{'+' if change > 0 else ''}{formatting.number(round(float(change), 1), locale)}%"
    return text, "up" if change > 0 else "down" if change < 0 else "flat"


def quarter_label(first_day: str) -> str:
    day = date.fromisoformat(first_day)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def kpis_panel(reply: Any, ctx: Context) -> Panel:
    t = messages(ctx.locale)
    panel = Panel("kpis", "kpis", t.text(PANEL_TITLES["kpis"]))
    by_key = {p.key: p for p in reply.points if not p.currency}
    number = lambda n: formatting.number(n, ctx.locale)  # noqa: E731
    cards: list[tuple[str, Msg, str, Msg]] = [
        ("customers", N_("Customers"), number(by_key["customers"].count), N_("in your scope, today")),
        ("new_this_month", N_("New this month"), number(by_key["new_this_month"].count), N_("created since the 1st")),
        ("new_this_quarter", N_("New this quarter"), number(by_key["new_this_quarter"].count),
         N_("created this quarter")),
        ("won_this_quarter", N_("Won this quarter"), number(by_key["won_this_quarter"].count),
         N_("became won customers")),
        ("conversion_rate", N_("Conversion rate"), _percent(by_key["conversion_rate"].value, ctx.locale),
         N_("won customers of all")),
        ("churn_rate", N_("Churn rate"), _percent(by_key["churn_rate"].value, ctx.locale),
         N_("won, no order in 12 months")),
    ]
    for key, title, value, note in cards:
        panel.kpis.append({"key": key, "label": t.text(title), "value": value, "note": t.text(note), "trend": "flat",
                           "link": list_link(by_key[key].filter) if key in by_key else ""})
    spend: dict[str, dict[str, Decimal]] = {}
    for p in reply.points:
        if p.currency:
            spend.setdefault(p.currency, {})[p.key] = _decimal(p.value)
    # The currency with the most spend this quarter first; each currency stays on its own.
    ranked = sorted(spend.items(), key=lambda kv: (-kv[1].get("spend_this_quarter", Decimal(0)), kv[0]))
    for currency, sums in ranked[:2]:
        now = sums.get("spend_this_quarter", Decimal(0))
        vs_last, trend = _change(now, sums.get("spend_last_quarter", Decimal(0)), ctx.locale)
        vs_year, _ = _change(now, sums.get("spend_same_quarter_last_year", Decimal(0)), ctx.locale)
        notes = [t.gettext("%(change)s vs last quarter", change=vs_last) if vs_last else
                 t.gettext("none last quarter") if now else "",
                 t.gettext("%(change)s vs a year ago", change=vs_year) if vs_year else ""]
        panel.kpis.append({"key": f"spend-{currency}", "label": t.gettext("Spend this quarter"),
                           "value": formatting.money(str(now), currency, ctx.locale),
                           "note": " · ".join(n for n in notes if n) or t.gettext("no orders yet"),
                           "trend": trend, "link": ""})
    if "csat" in by_key:  # the satisfaction card, once rated feedback exists
        card = by_key["csat"]
        panel.kpis.append({"key": "csat", "label": t.gettext("Satisfaction (CSAT)"),
                           "value": _percent(card.value, ctx.locale),
                           "note": t.gettext("rated 4-5 of %(count)s, 12 months",
                                             count=formatting.number(card.count, ctx.locale)),
                           "trend": "flat", "link": "/app/followups/feedback"})
    if "followups_this_month" in by_key:  # the follow-up cards (issue 11)
        this_month, last_month = by_key["followups_this_month"].count, by_key["followups_last_month"].count
        vs_last, trend = _change(Decimal(this_month), Decimal(last_month), ctx.locale)
        panel.kpis.append({"key": "followups_this_month", "label": t.gettext("Follow-ups this month"),
                           "value": number(this_month),
                           "note": t.gettext("%(change)s vs last month", change=vs_last) if vs_last else
                           t.gettext("none last month") if this_month else t.gettext("records logged since the 1st"),
                           "trend": trend, "link": "/app/followups"})
        overdue = by_key["overdue_tasks"].count
        panel.kpis.append({"key": "overdue_tasks", "label": t.gettext("Overdue tasks"), "value": number(overdue),
                           "note": t.gettext("open follow-up tasks past due"), "trend": "flat",
                           "link": "/app/followups"})
    return panel


def satisfaction_panel(reply: Any, ctx: Context, span: str) -> Panel:
    """CSAT and NPS as key figures; the sentiment trend as lines per sentiment; complaints as bars."""
    t = messages(ctx.locale)
    key = reply.panel
    by_key = {p.key: p for p in reply.points}
    number = lambda n: formatting.number(n, ctx.locale)  # noqa: E731
    if key in ("csat", "nps"):
        panel = Panel(key, "kpis", t.text(PANEL_TITLES[key]), span)
        if key == "csat":
            head = by_key["csat"]
            cards = [("csat", t.gettext("Satisfied (4-5)"), _percent(head.value, ctx.locale),
                      t.gettext("%(count)s ratings", count=number(head.count))),
                     ("average_rating", t.gettext("Average rating"), by_key["average_rating"].value or "—",
                      t.gettext("out of 5"))]
        else:
            head = by_key["nps"]
            cards = [("nps", t.gettext("NPS"), head.value or "—",
                      t.gettext("%(count)s answers", count=number(head.count))),
                     ("promoters", t.gettext("Promoters (9-10)"), number(by_key["promoters"].count), ""),
                     ("detractors", t.gettext("Detractors (0-6)"), number(by_key["detractors"].count), "")]
        for card_key, label_text, value, note in cards:
            panel.kpis.append({"key": card_key, "label": label_text, "value": value, "note": note, "trend": "flat",
                               "link": "/app/followups/feedback"})
        return panel
    if key == "sentiment_trend":
        panel = Panel(key, "line", t.text(PANEL_TITLES[key]), t.gettext("feedback per month, %(span)s", span=span))
        months = sorted({p.key for p in reply.points})
        counts = {(p.key, p.label): int(p.count) for p in reply.points}
        panel.categories = [m[:7] for m in months]
        panel.series = [{"name": t.text(SENTIMENT_NAMES[s]), "values": [counts.get((m, s), 0) for m in months]}
                        for s in SENTIMENT_NAMES]
        panel.table_head = [t.gettext("Month"), *(t.text(SENTIMENT_NAMES[s]) for s in SENTIMENT_NAMES)]
        panel.table_rows = [[m[:7], *(number(counts.get((m, s), 0)) for s in SENTIMENT_NAMES)] for m in months]
        return panel
    panel = Panel(key, "bar", t.text(PANEL_TITLES[key]), t.gettext("negative or rated 1-2, %(span)s", span=span))
    values: list[int] = []
    for p in reply.points:
        name = t.text(CATEGORY_NAMES[p.key]) if p.key in CATEGORY_NAMES else p.key
        panel.categories.append(name)
        values.append(int(p.count))
        panel.links.append(f"/app/followups/feedback?category={p.key}&sentiment=negative")
        panel.table_rows.append([name, number(p.count)])
    panel.series = [{"name": t.gettext("Complaints"), "values": values}]
    panel.table_head = [t.gettext("Category"), t.gettext("Complaints")]
    return panel


def distribution_panel(reply: Any, ctx: Context, kind: str, name_of: Any, dimension: Msg, subtitle: str) -> Panel:
    t = messages(ctx.locale)
    panel = Panel(reply.panel, kind, t.text(PANEL_TITLES[reply.panel]), subtitle)
    values: list[int] = []
    for p in reply.points:
        name = name_of(p.key) if p.key else t.gettext("Not set")
        panel.categories.append(name)
        values.append(int(p.count))
        panel.links.append(list_link(p.filter))
        panel.table_rows.append([name, formatting.number(p.count, ctx.locale)])
    panel.series = [{"name": t.gettext("Customers"), "values": values}]
    panel.table_head = [t.text(dimension), t.gettext("Customers")]
    return panel


def value_trend_panel(reply: Any, ctx: Context, span: str) -> Panel:
    t = messages(ctx.locale)
    panel = Panel("value_trend", "line", t.text(PANEL_TITLES["value_trend"]),
                  t.gettext("spend per quarter and currency, %(span)s", span=span))
    # Every quarter of the range, also those without orders.
    first, last = date.fromisoformat(getattr(reply, "from")), date.fromisoformat(reply.to)
    quarters: list[str] = []
    cursor = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    while cursor <= last:
        quarters.append(cursor.isoformat())
        cursor = date(cursor.year + (cursor.month + 2) // 12, (cursor.month + 2) % 12 + 1, 1)
    sums: dict[str, dict[str, Decimal]] = {}
    for p in reply.points:
        sums.setdefault(p.currency, {})[p.key] = _decimal(p.value)
    currencies = sorted(sums, key=lambda c: (-sum(sums[c].values()), c))
    panel.categories = [quarter_label(q) for q in quarters]
    panel.series = [{"name": c, "currency": c, "values": [float(sums[c].get(q, 0)) for q in quarters]}
                    for c in currencies]
    panel.table_head = [t.gettext("Quarter"), *currencies]
    panel.table_rows = [[quarter_label(q), *(formatting.money(str(sums[c].get(q, Decimal(0))), c, ctx.locale)
                                             for c in currencies)] for q in quarters]
    return panel


def top_customers_panel(reply: Any, ctx: Context, span: str) -> Panel:
    t = messages(ctx.locale)
    currency = reply.points[0].currency if reply.points else "CNY"
    panel = Panel("top_customers", "hbar", t.text(PANEL_TITLES["top_customers"]),
                  t.gettext("spend in %(currency)s, %(span)s", currency=currency, span=span))
    values: list[float] = []
    for p in reply.points:
        name = p.label or t.gettext("Customer %(id)s", id=p.key[:8])
        panel.categories.append(name)
        values.append(float(_decimal(p.value)))
        panel.links.append(f"/app/customers/{p.key}")
        panel.table_rows.append([name, formatting.money(p.value, p.currency, ctx.locale),
                                 formatting.number(p.count, ctx.locale)])
    panel.series = [{"name": t.gettext("Spend"), "currency": currency, "values": values}]
    panel.table_head = [t.gettext("Customer"), t.gettext("Spend"), t.gettext("Orders")]
    return panel


def funnel_panel(reply: Any, ctx: Context) -> Panel:
    t = messages(ctx.locale)
    panel = Panel("funnel", "funnel", t.text(PANEL_TITLES["funnel"]), t.gettext(
        "%(count)s customers first contacted %(start)s to %(end)s, by their status history",
        count=formatting.number(reply.cohort, ctx.locale), start=getattr(reply, "from"), end=reply.to))
    values: list[int] = []
    for index, stage in enumerate(reply.stages):
        name = label("status", stage.stage, ctx.locale)
        panel.categories.append(name)
        values.append(int(stage.customers))
        # Only the first stage is the cohort itself; "reached intent at any time" has no list filter.
        panel.links.append(list_link(reply.filter) if index == 0 else "")
        panel.table_rows.append([
            name, formatting.number(stage.customers, ctx.locale),
            _percent(stage.conversion_from_previous, ctx.locale) if index else "—",
            _percent(stage.conversion_overall, ctx.locale),
            t.gettext("%(days)s days", days=stage.median_days_in_stage) if stage.median_days_in_stage else "—",
        ])
    panel.series = [{"name": t.gettext("Customers"), "values": values,
                     "rates": [_percent(s.conversion_from_previous, ctx.locale) if i else ""
                               for i, s in enumerate(reply.stages)]}]
    panel.table_head = [t.gettext("Stage"), t.gettext("Customers"), t.gettext("From the previous stage"),
                        t.gettext("Of the cohort"), t.gettext("Median time in stage")]
    return panel


# -- loading ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    caller: Caller
    services: Any
    window: Window
    subject: Subject
    filters: dict[str, str]  # a saved view's filters (object view:<id>)


async def fetch_panel(load: Load, key: str) -> Any:
    request = pb.GetDashboardPanelRequest(panel=key, object=load.subject.object, view_filters=load.filters,
                                          segment_definition=load.subject.definition,
                                          range=load.window.params["range"], to=load.window.params.get("to", ""),
                                          limit=TOP_CUSTOMERS if key == "top_customers" else 0)
    setattr(request, "from", load.window.params.get("from", ""))
    return await load.caller.call(load.services.reporting.GetDashboardPanel, request)


async def fetch_funnel(load: Load, today: date) -> Any:
    if load.window.key == "custom" and load.window.start and load.window.end:
        start, end = load.window.start, load.window.end
    elif load.window.key == "3m":
        start, end = _months_back(today, 3), today
    elif load.window.key == "ytd":
        start, end = date(today.year, 1, 1), today
    else:
        start, end = _months_back(today, 12), today
    request = pb.GetFunnelRequest(to=end.isoformat(), object=load.subject.object, view_filters=load.filters,
                                  segment_definition=load.subject.definition)
    setattr(request, "from", start.isoformat())
    return await load.caller.call(load.services.reporting.GetFunnel, request)


def _months_back(day: date, months: int) -> date:
    """The day after `day` minus `months` months (reporting's `3m` / `12m`)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, d) + timedelta(days=1)
        except ValueError:
            continue
    return date(year, month + 1, 28) + timedelta(days=1)


def _hidden(exc: UpstreamError) -> bool:
    """The role may not see this panel (a hidden field, or no reports:read): leave it out."""
    return exc.error.status == grpc.StatusCode.PERMISSION_DENIED


async def _subject(caller: Caller, services: Any, object_: str) -> tuple[Subject, list[Any], list[Any], list[Any]]:
    tags, views, segments = await asyncio.gather(tenant_tags(caller, services), list_views(caller, services),
                                                 viewer_segments(caller, services))
    kind, _, ident = object_.partition(":")
    if kind == "segment":
        found = next((s for s in segments if s.id == ident), None)
        if found:
            return Subject("segment", found.id, found.name, found.definition), tags, views, segments
    if kind == "tag":
        match = next((tag for tag in tags if tag.id == ident), None)
        if match:
            return Subject("tag", match.id, match.name), tags, views, segments
    if kind == "view":
        saved = next((v for v in views if v.id == ident), None)
        if saved:
            return Subject("view", saved.id, saved.name), tags, views, segments
    return Subject(), tags, views, segments


async def my_layout(caller: Caller, services: Any) -> tuple[list[str], str]:
    reply = await caller.call(services.reporting.GetMyDashboard, pb.GetMyDashboardRequest())
    return [item.panel for item in reply.items if item.panel in PANEL_TITLES], str(reply.origin)


@router.get("")
async def home() -> RedirectResponse:
    """/app: the home dashboard."""
    return RedirectResponse("/app/dashboard", status_code=302)


@router.get("/dashboard")
async def dashboard_page(
    request: Request, session: SessionDep, services: BackendsDep,
    range_key: Annotated[str, Query(alias="range")] = "12m",
    start: Annotated[str, Query(alias="from")] = "", end: Annotated[str, Query(alias="to")] = "",
    object_: Annotated[str, Query(alias="object")] = "all", edit: str = "",
) -> Response:
    locale = page_locale(request)
    t = messages(locale)
    caller = session_caller(request, session)
    scopes = session_scopes(session)
    cookies: WebCookies = request.app.state.web_cookies
    context: dict[str, Any] = {
        "session": session, "can_read": "reports:read" in scopes, "can_publish": "reports:manage" in scopes,
        "panels": [], "failed": [], "editing": bool(edit), "wide": WIDE,
        "ranges": [(key, t.text(RANGE_LABELS[key])) for key in RANGES], "tags": [], "views": [], "segments": [],
        "flash": flash_text(cookies.read_flash(request), locale), "share_query": "",
    }
    window, range_error = Window.parse(range_key, start, end)
    context.update(window=window, range_error=range_error, subject=Subject(), layout=[], origin="builtin",
                   catalogue=[])
    if not context["can_read"]:  # a role without reports: a page that says so, not panels that each fail
        return _page(request, context)
    today = datetime.now(formatting.viewer_zone(request, locale)).date()
    subject, tags, views, segments = await _subject(caller, services, object_)
    try:
        (layout, origin), choices, filters = await asyncio.gather(
            my_layout(caller, services), load_choices(caller, services),
            view_filters(caller, services, subject.object))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        raise
    load = Load(caller, services, window, subject, filters)
    keys = list(dict.fromkeys(layout))  # a panel shown twice would draw the same figures twice
    results = await asyncio.gather(*(fetch_panel(load, key) for key in keys), fetch_funnel(load, today),
                                   return_exceptions=True)
    ctx = Context(locale, choices.names, today)
    span = t.text(RANGE_LABELS[window.key]) if window.key != "custom" else t.gettext(
        "%(start)s to %(end)s", start=start, end=end)
    panels: list[Panel] = []
    failed: list[str] = []
    for key, result in zip([*keys, "funnel"], results, strict=True):
        if isinstance(result, UpstreamError):
            raise_if_signed_out(request, result)
            if not _hidden(result):
                failed.append(f"{t.text(PANEL_TITLES[key])} ({problem_text(result, locale)})")
            continue
        if isinstance(result, BaseException):
            raise result
        panels.append(_panel(key, result, ctx, span))
    # The funnel right after the key figures (or first).
    funnel = [p for p in panels if p.key == "funnel"]
    rest = [p for p in panels if p.key != "funnel"]
    at = 1 if rest and rest[0].key == "kpis" else 0
    # The share page takes the same choices (web/delivery.py).
    context["share_query"] = urlencode({"object": subject.object, **window.params})
    context.update(panels=rest[:at] + funnel + rest[at:], failed=failed, subject=subject, tags=tags,
                   views=views, segments=segments, layout=keys, origin=origin,
                   catalogue=[(k, t.text(PANEL_TITLES[k]), k in keys) for k in CATALOGUE])
    return _page(request, context)


def _page(request: Request, context: dict[str, Any]) -> Response:
    response = render(request, "dashboard.html", context)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.clear_flash(request, response)
    return response


def _panel(key: str, reply: Any, ctx: Context, span: str) -> Panel:
    t = messages(ctx.locale)
    now = t.gettext("today")
    if key == "kpis":
        return kpis_panel(reply, ctx)
    if key == "funnel":
        return funnel_panel(reply, ctx)
    if key == "industry":
        return distribution_panel(reply, ctx, "pie", ctx.names.industry_name, N_("Industry"), now)
    if key == "region":
        return distribution_panel(reply, ctx, "bar", ctx.names.region_name, N_("Region"), now)
    if key == "new_by_source":
        return distribution_panel(reply, ctx, "bar", ctx.names.source_name, N_("Source"),
                                  t.gettext("created in %(span)s", span=span))
    if key == "value_trend":
        return value_trend_panel(reply, ctx, span)
    if key in SATISFACTION:
        return satisfaction_panel(reply, ctx, span)
    return top_customers_panel(reply, ctx, span)


@router.post("/dashboard/layout")
async def change_layout(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """Add, remove or move a panel of the viewer's own dashboard, restore the built-in one, or (with
    reports:manage) publish the viewer's layout as the tenant default."""
    form = await request.form()
    response = RedirectResponse("/app/dashboard?edit=1", status_code=303)
    if not csrf_ok(form, session):
        return response
    caller = session_caller(request, session)
    action, key = str(form.get("action") or ""), str(form.get("panel") or "")
    cookies: WebCookies = request.app.state.web_cookies
    try:
        layout, _ = await my_layout(caller, services)
        if action == "reset":
            layout = list(BUILTIN)
        elif key in CATALOGUE:
            if action == "add" and key not in layout:
                layout.append(key)
            elif action == "remove" and key in layout:
                layout.remove(key)
            elif action in ("up", "down") and key in layout:
                at = layout.index(key)
                other = at - 1 if action == "up" else at + 1
                if 0 <= other < len(layout):
                    layout[at], layout[other] = layout[other], layout[at]
        body = pb.PutDashboardRequest(items=[pb.DashboardItem(panel=k) for k in layout])
        if action == "publish":
            await caller.call(services.reporting.PutDefaultDashboard, body)
            cookies.flash(response, flash_message(N_("Published: users without a layout of their own now see this "
                                                     "dashboard.")))
        else:
            await caller.call(services.reporting.PutMyDashboard, body)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, flash_message(N_("The layout was not saved: %(reason)s"),
                                              reason=problem_text(exc, page_locale(request))))
    return response
