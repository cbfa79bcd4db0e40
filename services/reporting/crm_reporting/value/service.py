"""Customer value (docs/reporting.md, "Customer value"): per customer, from the orders counted as
spend (kind order, confirmed or paid) in one currency, computed in ClickHouse at read time, so it is
as fresh as the orders projection:

- annual spend and orders in the last 12 months, lifetime value and orders to date, first and last
  order date, average order value;
- predicted value over a horizon (3 years on the record) by an RFM-based estimate:
  `rate` = orders / max(days since the first order, 90) * 365 (orders a year), `p_alive` =
  exp(-days since the last order * rate / 365) (the longer the silence against the customer's own
  rhythm, the likelier they are gone: one usual gap of silence leaves 0.37), predicted = average
  order value * rate * horizon years * p_alive. Back-tested in tests/bench/bench_customer_value.py;
- segment (high value / potential / normal / low value) and RFM scores 1-5 by the tenant's rules
  (rules.py), with a reason in zh-CN and en.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from crm_platform.errors import FieldError, InvalidInput
from crm_platform.i18n import N_, messages
from crm_reporting.analytics import Analytics, Row, TenantQuery
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.dashboards.audience import Audience, add_months
from crm_reporting.orders.service import SPEND_KIND, SPEND_STATUSES, money
from crm_reporting.orders.tables import ORDERS
from crm_reporting.value.rules import ValueRules

SEGMENTS: Final = ("high_value", "potential", "normal", "low_value")  # codes 1..4 in SQL
SORT_KEYS: Final = {
    "annual_spend": "annual_spend", "lifetime_value": "lifetime_value", "predicted_value": "predicted_value",
    "last_ordered_on": "last_order", "orders_12m": "orders_12m", "average_order_value": "average_order_value",
}
MAX_PAGE: Final = 200
RECORD_HORIZON_YEARS: Final = 3
# p_alive = exp(-days silent * orders a year / ALIVE_SCALE_DAYS): silent for one usual gap between
# orders leaves exp(-1) ~ 0.37 (chosen by the back-test, tests/bench/bench_customer_value.py).
ALIVE_SCALE_DAYS: Final = 365.0
_SYMBOLS: Final = {"CNY": "¥", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£", "HKD": "HK$"}


@dataclass(frozen=True)
class CustomerValue:
    customer_id: str
    name: str
    currency: str
    annual_spend: str
    orders_12m: int
    lifetime_value: str
    orders: int
    first_ordered_on: str
    last_ordered_on: str
    average_order_value: str
    predicted_value: str
    segment: str
    recency_score: int
    frequency_score: int
    monetary_score: int
    reason_en: str
    reason_zh: str


@dataclass(frozen=True)
class ValuePage:
    currency: str
    items: list[CustomerValue]
    total: int
    next_offset: int  # 0: no more pages


def _bands(name: str, thresholds: tuple[Any, ...], param: str, ascending_is_better: bool, kind: str) -> tuple[
        str, dict[str, Any]]:
    """`multiIf(...)` scoring 1-5 from four thresholds (bound as parameters)."""
    params = {f"{param}_{i}": (Decimal(str(v)) if kind == "Decimal(38, 4)" else int(v))
              for i, v in enumerate(thresholds)}
    placeholder = "Decimal(38, 4)" if kind == "Decimal(38, 4)" else "Int64"
    if ascending_is_better:  # frequency, monetary: at least t3 -> 5, t2 -> 4, t1 -> 3, t0 -> 2
        branches = ", ".join(f"{name} >= {{{param}_{i}:{placeholder}}}, {i + 2}" for i in (3, 2, 1, 0))
    else:  # recency: at most t0 -> 5, t1 -> 4, t2 -> 3, t3 -> 2
        branches = ", ".join(f"{name} <= {{{param}_{i}:{placeholder}}}, {5 - i}" for i in (0, 1, 2, 3))
    return f"multiIf({branches}, 1)", params


def value_query(tenant_id: uuid.UUID, audience: Audience, rules: ValueRules, currency: str, today: date,
                horizon_years: float = RECORD_HORIZON_YEARS) -> TenantQuery:
    """One row per customer with counted orders in `currency` up to `today`."""
    recency, recency_params = _bands("recency_days", tuple(rules.recency_days), "r_band", False, "Int64")
    frequency, frequency_params = _bands("orders_12m", tuple(rules.frequency_orders), "f_band", True, "Int64")
    monetary, monetary_params = _bands("annual_spend", tuple(rules.monetary_amounts), "m_band", True,
                                       "Decimal(38, 4)")
    return (
        audience.by_customer(
            TenantQuery(ORDERS, tenant_id, final=True)
            .where("kind = {kind:String}", kind=SPEND_KIND)
            .where("status IN {statuses:Array(String)}", statuses=SPEND_STATUSES)
            .where("currency = {currency:String}", currency=currency)
            .where("ordered_on <= {today:Date32}", today=today)
        )
        .select(
            "customer_id",
            "sumIf(amount, ordered_on > {year_ago:Date32}) AS annual_spend",
            "countIf(ordered_on > {year_ago:Date32}) AS orders_12m",
            "sum(amount) AS lifetime_value",
            "count() AS orders",
            "min(ordered_on) AS first_order",
            "max(ordered_on) AS last_order",
            "toInt32({today:Date32}) - toInt32(max(ordered_on)) AS recency_days",
            "toFloat64(sum(amount)) / count() AS average_order_value",
            "count() * 365 / greatest(toInt32({today:Date32}) - toInt32(min(ordered_on)), 90) AS yearly_rate",
            "average_order_value * yearly_rate * {horizon:Float64}"
            " * exp(-recency_days * yearly_rate / {alive_scale:Float64}) AS predicted_value",
            f"{recency} AS recency_score",
            f"{frequency} AS frequency_score",
            f"{monetary} AS monetary_score",
            "multiIf(annual_spend >= {high_spend:Decimal(38, 4)}, 1, recency_days > {inactive_days:Int64}, 4,"
            " predicted_value >= {potential_value:Float64}, 2, 3) AS segment",
            year_ago=add_months(today, -12), horizon=float(horizon_years), alive_scale=ALIVE_SCALE_DAYS,
            high_spend=Decimal(rules.high_value_annual_spend),
            potential_value=float(Decimal(rules.potential_predicted_value)),
            inactive_days=int(rules.low_value_inactive_days),
            **recency_params, **frequency_params, **monetary_params,
        )
        .group_by("customer_id")
    )


def _amount_text(currency: str, value: Decimal) -> str:
    return f"{_SYMBOLS.get(currency, currency + ' ')}{value:,.2f}"


_REASON: Final = N_("spent %(spend)s in 12 months (%(orders)s orders); last order %(days)s days ago")
_REASON_POTENTIAL: Final = N_("; predicted 3-year value %(predicted)s")


def reasons(row: Row, currency: str, segment: str) -> tuple[str, str]:
    """(en, zh-CN) of why the customer is in its segment (the services' catalogue)."""
    values = {
        "spend": _amount_text(currency, Decimal(str(row["annual_spend"]))),
        "days": int(row["recency_days"]), "orders": int(row["orders_12m"]),
        "predicted": _amount_text(currency, Decimal(str(row["predicted_value"])).quantize(Decimal("0.01"))),
    }
    found: list[str] = []
    for locale in ("en", "zh-CN"):
        text = messages(locale)
        reason = text.text(_REASON, **values)
        if segment == "potential":
            reason += text.text(_REASON_POTENTIAL, **values)
        found.append(reason)
    return found[0], found[1]


def _value(row: Row, currency: str, names: dict[str, str]) -> CustomerValue:
    segment = SEGMENTS[int(row["segment"]) - 1]
    en, zh = reasons(row, currency, segment)
    customer = str(row["customer_id"])
    return CustomerValue(
        customer_id=customer, name=names.get(customer, ""), currency=currency,
        annual_spend=money(row["annual_spend"]), orders_12m=int(row["orders_12m"]),
        lifetime_value=money(row["lifetime_value"]), orders=int(row["orders"]),
        first_ordered_on=str(row["first_order"]), last_ordered_on=str(row["last_order"]),
        average_order_value=money(Decimal(str(row["average_order_value"])).quantize(Decimal("0.01"))),
        predicted_value=money(Decimal(str(row["predicted_value"])).quantize(Decimal("0.01"))),
        segment=segment, recency_score=int(row["recency_score"]), frequency_score=int(row["frequency_score"]),
        monetary_score=int(row["monetary_score"]), reason_en=en, reason_zh=zh,
    )


async def _names(analytics: Analytics, tenant_id: uuid.UUID, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    found = await analytics.query(
        TenantQuery(CUSTOMERS, tenant_id, final=True)
        .where("has({page_ids:Array(String)}, toString(customer_id))", page_ids=ids)
        .select("toString(customer_id) AS customer", "name")
    )
    return {str(r["customer"]): str(r["name"]) for r in found}


def check_page(order_by: str, segment: str, page_size: int, offset: int) -> tuple[str, str]:
    errors: list[FieldError] = []
    key, _, direction = (order_by or "annual_spend desc").partition(" ")
    direction = direction.strip().lower() or "desc"
    if key not in SORT_KEYS or direction not in ("asc", "desc"):
        errors.append(FieldError("order_by", "invalid_order", f"one of {', '.join(SORT_KEYS)}, then asc or desc"))
    if segment and segment not in SEGMENTS:
        errors.append(FieldError("segment", "invalid_choice", f"one of {', '.join(SEGMENTS)}"))
    if not 0 <= page_size <= MAX_PAGE:
        errors.append(FieldError("page_size", "out_of_range", f"1-{MAX_PAGE}"))
    if offset < 0:
        errors.append(FieldError("page_token", "invalid_page_token", "a token from a previous page"))
    if errors:
        raise InvalidInput(errors)
    return f"{SORT_KEYS[key]} {direction.upper()}", segment


async def value_analysis(
    analytics: Analytics, tenant_id: uuid.UUID, audience: Audience, rules: ValueRules, today: date, *,
    currency: str = "", order_by: str = "", segment: str = "", page_size: int = 50, offset: int = 0,
) -> ValuePage:
    order, segment = check_page(order_by, segment, page_size, offset)
    currency = currency or rules.currency
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha() or not currency.isupper():
        raise InvalidInput([FieldError("currency", "invalid_currency", "an ISO 4217 code such as CNY")])
    size = page_size or 50
    query = value_query(tenant_id, audience, rules, currency, today)
    if segment:
        query = query.having("segment = {segment_code:UInt8}", segment_code=SEGMENTS.index(segment) + 1)
    [counted] = await analytics.query(query.outer("count() AS total"))
    rows = await analytics.query(query.order_by(order, "customer_id ASC").limit(size, offset))
    names = await _names(analytics, tenant_id, [str(r["customer_id"]) for r in rows])
    total = int(counted["total"])
    return ValuePage(currency, [_value(r, currency, names) for r in rows], total,
                     offset + size if offset + size < total else 0)


async def customer_value(analytics: Analytics, tenant_id: uuid.UUID, audience: Audience, rules: ValueRules,
                         today: date, customer_id: uuid.UUID) -> CustomerValue | None:
    """One customer's value in the rules' currency; None without counted orders (or out of scope)."""
    rows = await analytics.query(
        value_query(tenant_id, audience, rules, rules.currency, today)
        .where("customer_id = {one_customer:UUID}", one_customer=customer_id)
    )
    if not rows:
        return None
    return _value(rows[0], rules.currency, {})

