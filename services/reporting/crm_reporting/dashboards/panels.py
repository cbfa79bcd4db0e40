"""The dashboard panels (docs/reporting.md, "Dashboards"): each a few `TenantQuery`s over the
customers projection, the status history and the orders, narrowed to the caller's audience (data
scope and object, audience.py). Field policies decide which panels a caller may open at all
(`PANELS[...].fields`) and which KPI cards are left out (money)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from crm_platform.access import field_policy
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput, NotFound, PermissionDenied
from crm_reporting.analytics import Analytics, Row, TenantQuery
from crm_reporting.customers.tables import CUSTOMER_STATUS_CHANGES, CUSTOMERS
from crm_reporting.dashboards.audience import Audience, DateRange, add_months, quarter_start
from crm_reporting.feedback import panels as satisfaction
from crm_reporting.feedback.tables import FEEDBACK
from crm_reporting.followups.panels import followup_counts
from crm_reporting.orders.rollup import counted_orders_by_day, customer_spend, spend_days
from crm_reporting.orders.service import DEFAULT_VALUE_CURRENCY, money

WON: Final = "won"
MONEY_FIELD: Final = "annual_spend"
MAX_TOP: Final = 50


@dataclass(frozen=True)
class Point:
    key: str
    count: int = 0
    value: str = ""
    currency: str = ""
    label: str = ""
    filter: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PanelResult:
    points: list[Point]
    omitted_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PanelRequest:
    tenant_id: uuid.UUID
    audience: Audience
    range: DateRange
    today: date
    principal: Principal
    currency: str = DEFAULT_VALUE_CURRENCY
    limit: int = 10


PanelFn = Callable[[Analytics, PanelRequest], Awaitable[PanelResult]]


@dataclass(frozen=True)
class Panel:
    id: str
    chart: str
    # Fields the panel cannot do without: a caller whose policies hide or mask one gets 403.
    fields: tuple[str, ...]
    uses_range: bool
    compute: PanelFn

    def hidden_fields(self, principal: Principal) -> list[str]:
        return [f for f in self.fields if field_policy(principal, f) in ("hidden", "masked")]


def _readable(principal: Principal, name: str) -> bool:
    return field_policy(principal, name) not in ("hidden", "masked")


def rate(part: int, whole: int) -> str:
    return f"{Decimal(part) / Decimal(whole):.4f}" if whole else ""


def _customers(request: PanelRequest) -> TenantQuery:
    return request.audience.customers(TenantQuery(CUSTOMERS, request.tenant_id, final=True))


def counted_orders(request: PanelRequest) -> TenantQuery:
    """Orders counted as spend (kind order, confirmed or paid), of customers in the audience: their
    latest versions keyed by day (orders/rollup.py), so a date range reads only its days."""
    return request.audience.by_customer(counted_orders_by_day(request.tenant_id))


def _spend(request: PanelRequest) -> tuple[TenantQuery, Callable[[str], str]]:
    """Where the money panels sum spend, and how they count orders under a condition there: for
    every customer in the data scope (object `all`), the per-owner daily rollup (a few rows per
    day); for a tag, view or segment, the audience's orders themselves."""
    audience = request.audience
    if audience.whole_scope:
        return spend_days(request.tenant_id, audience.scope.owners), lambda condition: f"sumIf(orders, {condition})"
    return counted_orders(request), lambda condition: f"countIf({condition})"


# -- KPI cards -------------------------------------------------------------------------------------

async def kpis(analytics: Analytics, request: PanelRequest) -> PanelResult:
    today = request.today
    month, quarter = today.replace(day=1), quarter_start(today)
    audience = request.audience
    # Churn: a won customer (today's status) of the audience with a counted order in the last 12
    # months is active. Whether a customer bought in the year is its last counted order day in the
    # per-customer spend (orders/rollup.py: one narrow row per customer and currency), left joined
    # to the customers' one scan, instead of a year of orders read with FINAL and a second scan of
    # the customers (docs/benchmarks.md). The buyers are not narrowed to the audience: the
    # customers are, and a buyer outside it matches nothing.
    last_quarter, year_before = add_months(quarter, -3), add_months(quarter, -12)
    year_ago = add_months(today, -12)
    buyers = (customer_spend(request.tenant_id).where("last_ordered > {year_ago:Date32}", year_ago=year_ago)
              .select("customer_id", "1 AS bought").group_by("customer_id"))
    [counts] = await analytics.query(
        _customers(request).left_join("b", buyers).select(
            "count() AS customers",
            # New = acquired: first contact, else created (an imported customer is new when first met).
            "countIf(first_contact_on >= {month_start:Date32}) AS new_month",
            "countIf(first_contact_on >= {quarter_start:Date32}) AS new_quarter",
            "countIf(status = {won:String}) AS won_now",
            "countIf(status = {won:String} AND b.bought = 1) AS active_won",
            month_start=month, quarter_start=quarter, won=WON,
        )
    )
    # Won this quarter: customers who entered `won` in the quarter (status history, not today's status).
    [won] = await analytics.query(
        audience.by_customer(TenantQuery(CUSTOMER_STATUS_CHANGES, request.tenant_id, final=True))
        .where("status = {won:String}", won=WON)
        .where("toDate32(changed_at) >= {quarter_start:Date32}", quarter_start=quarter)
        .select("uniqExact(customer_id) AS won_quarter")
    )
    show_money = _readable(request.principal, MONEY_FIELD)
    # Spend per currency, only for callers who may see money.
    order_rows: list[Row] = []
    if show_money:
        in_range = "ordered_on <= {today:Date32}"
        this = f"{in_range} AND ordered_on >= {{quarter_start:Date32}}"
        last = f"{in_range} AND ordered_on >= {{last_quarter:Date32}} AND ordered_on < {{quarter_start:Date32}}"
        before = f"{in_range} AND ordered_on < {{year_before_end:Date32}}"
        slices, count_if = _spend(request)
        order_rows = await analytics.query(
            slices.where("ordered_on >= {year_before:Date32}", year_before=year_before).select(
                "currency", f"{count_if(in_range)} AS in_range",
                f"toString(sumIf(amount, {this})) AS this_quarter", f"{count_if(this)} AS this_orders",
                f"toString(sumIf(amount, {last})) AS last_quarter", f"{count_if(last)} AS last_orders",
                f"toString(sumIf(amount, {before})) AS year_before", f"{count_if(before)} AS year_before_orders",
                today=today, quarter_start=quarter, last_quarter=last_quarter,
                year_before_end=add_months(year_before, 3),
            ).group_by("currency").order_by("currency ASC"))
    active_won = int(counts["active_won"])
    customers, won_now = int(counts["customers"]), int(counts["won_now"])
    churned = won_now - active_won
    points = [
        Point("customers", customers, filter=audience.filter()),
        Point("new_this_month", int(counts["new_month"]), filter=audience.filter(acquired_after=month.isoformat())),
        Point("new_this_quarter", int(counts["new_quarter"]),
              filter=audience.filter(acquired_after=quarter.isoformat())),
        Point("won_this_quarter", int(won["won_quarter"])),
        Point("conversion_rate", won_now, value=rate(won_now, customers), filter=audience.filter(status=WON)),
        Point("churn_rate", churned, value=rate(churned, won_now)),
    ]
    # Satisfaction card (once feedback with a rating exists): CSAT over the last 12 months.
    rated = await satisfaction.csat_counts(analytics, audience.by_customer(
        TenantQuery(FEEDBACK, request.tenant_id, final=True)
        .where("toDate32(received_at) > {csat_since:Date32}", csat_since=add_months(today, -12))))
    answers = sum(rated.values())
    if answers:
        satisfied = sum(n for rating, n in rated.items() if rating >= satisfaction.SATISFIED_FROM)
        points.append(Point("csat", answers, value=satisfaction.share(satisfied, answers)))
    # Follow-up cards: records logged this month (and last month, for the change) and overdue tasks.
    this_month, last_month, overdue = await followup_counts(analytics, audience, request.tenant_id, today)
    points += [Point("followups_this_month", this_month), Point("followups_last_month", last_month),
               Point("overdue_tasks", overdue)]
    if not show_money:
        return PanelResult(points, omitted_fields=[MONEY_FIELD])
    # A currency shows when it has a counted order from a year before this quarter to today.
    spend = [row for row in order_rows if int(row["in_range"])]
    for row in spend:
        currency = str(row["currency"])
        points += [
            Point("spend_this_quarter", int(row["this_orders"]), money(row["this_quarter"]), currency),
            Point("spend_last_quarter", int(row["last_orders"]), money(row["last_quarter"]), currency),
            Point("spend_same_quarter_last_year", int(row["year_before_orders"]), money(row["year_before"]), currency),
        ]
    return PanelResult(points)


# -- distributions ---------------------------------------------------------------------------------

async def _distribution(analytics: Analytics, request: PanelRequest, column: str, list_param: str) -> PanelResult:
    rows = await analytics.query(
        _customers(request).select(f"{column} AS key", "count() AS customers")
        .group_by("key").order_by("customers DESC", "key ASC")
    )
    return PanelResult([
        # A blank value has no list filter that selects exactly it.
        Point(str(r["key"]), int(r["customers"]),
              filter=request.audience.filter(**{list_param: str(r["key"])}) if r["key"] else {})
        for r in rows
    ])


async def industry(analytics: Analytics, request: PanelRequest) -> PanelResult:
    return await _distribution(analytics, request, "industry", "industry")


async def region(analytics: Analytics, request: PanelRequest) -> PanelResult:
    # By the first segment of the region path; the list's `region` is a path prefix, so it opens
    # exactly the customers of that top-level region.
    return await _distribution(analytics, request, "region_top", "region")


async def new_by_source(analytics: Analytics, request: PanelRequest) -> PanelResult:
    span = request.range
    rows = await analytics.query(
        _customers(request)
        .where("first_contact_on >= {range_start:Date32}", range_start=span.start)
        .where("first_contact_on <= {range_end:Date32}", range_end=span.end)
        .select("source AS key", "count() AS customers")
        .group_by("key").order_by("customers DESC", "key ASC")
    )
    acquired = {"acquired_after": span.start.isoformat(), "acquired_before": span.end.isoformat()}
    return PanelResult([
        Point(str(r["key"]), int(r["customers"]),
              filter=request.audience.filter(source=str(r["key"]), **acquired) if r["key"] else {})
        for r in rows
    ])


# -- money -----------------------------------------------------------------------------------------

async def value_trend(analytics: Analytics, request: PanelRequest) -> PanelResult:
    span = request.range
    spend, count_if = _spend(request)
    rows = await analytics.query(
        spend
        .where("ordered_on >= {range_start:Date32}", range_start=span.start)
        .where("ordered_on < {range_stop:Date32}", range_stop=span.stop)
        .select("toString(toStartOfQuarter(ordered_on)) AS quarter", "currency",
                "toString(sum(amount)) AS spend", f"{count_if('1')} AS order_count")
        .group_by("quarter", "currency").order_by("quarter ASC", "currency ASC")
    )
    return PanelResult([
        Point(str(r["quarter"]), int(r["order_count"]), money(r["spend"]), str(r["currency"])) for r in rows
    ])


async def top_customers(analytics: Analytics, request: PanelRequest) -> PanelResult:
    span = request.range
    rows = await analytics.query(
        counted_orders(request)
        .where("ordered_on >= {range_start:Date32}", range_start=span.start)
        .where("ordered_on < {range_stop:Date32}", range_stop=span.stop)
        .where("currency = {currency:String}", currency=request.currency)
        .select("toString(customer_id) AS customer", "toString(sum(amount)) AS spend", "count() AS orders")
        # Grouped by the UUID itself (16 bytes hashed per order), the text made once per customer.
        .group_by("customer_id").order_by("sum(amount) DESC", "customer ASC").limit(request.limit)
    )
    ids = [str(r["customer"]) for r in rows]
    names: dict[str, str] = {}
    if ids and _readable(request.principal, "name"):
        found = await analytics.query(
            TenantQuery(CUSTOMERS, request.tenant_id, final=True)
            .where("customer_id IN {top_ids:Array(UUID)}", top_ids=[uuid.UUID(i) for i in ids])
            .select("toString(customer_id) AS customer", "name")
        )
        names = {str(r["customer"]): str(r["name"]) for r in found}
    return PanelResult([
        Point(str(r["customer"]), int(r["orders"]), money(r["spend"]), request.currency,
              label=names.get(str(r["customer"]), ""), filter={"ids": str(r["customer"])})
        for r in rows
    ])


# -- satisfaction (feedback from followups) -------------------------------------------------------------

def _feedback(request: PanelRequest) -> TenantQuery:
    """Feedback of the audience's customers given in the request's range (UTC days)."""
    span = request.range
    return (request.audience.by_customer(TenantQuery(FEEDBACK, request.tenant_id, final=True))
            .where("toDate32(received_at) >= {range_start:Date32}", range_start=span.start)
            .where("toDate32(received_at) < {range_stop:Date32}", range_stop=span.stop))


async def csat(analytics: Analytics, request: PanelRequest) -> PanelResult:
    """`csat`: count rated feedback, value the share rated 4-5; `average_rating`; `rating_1`..`rating_5`."""
    counts = await satisfaction.csat_counts(analytics, _feedback(request))
    answers = sum(counts.values())
    satisfied = sum(n for rating, n in counts.items() if rating >= satisfaction.SATISFIED_FROM)
    average = (f"{Decimal(sum(r * n for r, n in counts.items())) / Decimal(answers):.2f}" if answers else "")
    return PanelResult([
        Point("csat", answers, value=satisfaction.share(satisfied, answers)),
        Point("average_rating", answers, value=average),
        *(Point(f"rating_{rating}", counts.get(rating, 0)) for rating in range(1, 6)),
    ])


async def nps(analytics: Analytics, request: PanelRequest) -> PanelResult:
    """`nps`: count NPS answers, value promoters% - detractors% (-100..100); then each group's count."""
    promoters, passives, detractors = await satisfaction.nps_counts(analytics, _feedback(request))
    answers = promoters + passives + detractors
    return PanelResult([
        Point("nps", answers, value=satisfaction.nps_value(promoters, detractors, answers)),
        Point("promoters", promoters), Point("passives", passives), Point("detractors", detractors),
    ])


async def sentiment_trend(analytics: Analytics, request: PanelRequest) -> PanelResult:
    """Per month (`key` its first day) and sentiment (`label`): count, and the average score as value."""
    rows = await analytics.query(
        _feedback(request).where("sentiment != {no_sentiment:String}", no_sentiment="")
        .select("toString(toStartOfMonth(received_at)) AS month", "sentiment", "count() AS answers",
                "round(avg(sentiment_score), 4) AS score")
        .group_by("month", "sentiment").order_by("month ASC", "sentiment ASC")
    )
    return PanelResult([Point(str(r["month"]), int(r["answers"]), value=f"{float(r['score']):.4f}",
                              label=str(r["sentiment"])) for r in rows])


async def complaint_categories(analytics: Analytics, request: PanelRequest) -> PanelResult:
    """Complaints (negative text, or a rating of 1-2) by category code, most first."""
    rows = await analytics.query(
        _feedback(request)
        .where("sentiment = {negative:String} OR (rating > 0 AND rating <= {complaint_rating:Int8})",
               negative="negative", complaint_rating=satisfaction.COMPLAINT_RATING)
        .select("category AS key", "count() AS complaints")
        .group_by("key").order_by("complaints DESC", "key ASC")
    )
    return PanelResult([Point(str(r["key"]), int(r["complaints"])) for r in rows])


PANELS: Final[dict[str, Panel]] = {
    panel.id: panel for panel in (
        # KPIs need no field: the money cards are omitted instead when `annual_spend` is hidden.
        Panel("kpis", "kpi", (), False, kpis),
        Panel("industry", "pie", ("industry",), False, industry),
        Panel("region", "bar", ("region",), False, region),
        Panel("value_trend", "line", ("annual_spend",), True, value_trend),
        Panel("new_by_source", "bar", ("source",), True, new_by_source),
        Panel("top_customers", "table", ("lifetime_value",), True, top_customers),
        Panel("csat", "kpi", (), True, csat),
        Panel("nps", "kpi", (), True, nps),
        Panel("sentiment_trend", "line", (), True, sentiment_trend),
        Panel("complaint_categories", "bar", (), True, complaint_categories),
    )
}


def panel_named(name: str) -> Panel:
    panel = PANELS.get(name)
    if panel is None:
        raise NotFound(f"no dashboard panel {name!r}", extra={"panels": sorted(PANELS)})
    return panel


def check_panel_access(panel: Panel, principal: Principal) -> None:
    hidden = panel.hidden_fields(principal)
    if hidden:
        raise PermissionDenied(f"your role may not see {', '.join(hidden)}", code="field_hidden",
                               extra={"fields": hidden})


def check_top_options(currency: str, limit: int) -> tuple[str, int]:
    errors: list[FieldError] = []
    currency = currency or DEFAULT_VALUE_CURRENCY
    if len(currency) != 3 or not currency.isascii() or not currency.isupper() or not currency.isalpha():
        errors.append(FieldError("currency", "invalid_currency", "an ISO 4217 code such as CNY"))
    if limit < 0 or limit > MAX_TOP:
        errors.append(FieldError("limit", "out_of_range", f"between 1 and {MAX_TOP}"))
    if errors:
        raise InvalidInput(errors)
    return currency, limit or 10
