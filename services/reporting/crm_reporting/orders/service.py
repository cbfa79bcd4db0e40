"""Orders for reports: projecting `crm.order.recorded`, and the spend reports (docs/reporting.md).

Spend counts orders of kind `order` in status confirmed or paid, as the customers service does for
a customer's `annual_spend` / `lifetime_value` (crm_customers/orders/spend.py), of the customers in
the caller's data scope (scope/service.py). Amounts stay in their own currency: nothing is
converted."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from crm_platform import telemetry
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.events import CloudEvent
from crm_reporting.analytics import Analytics, Row, TenantQuery, TenantTable
from crm_reporting.orders.tables import ORDERS
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope

log = logging.getLogger(__name__)

ORDER_RECORDED: Final = "crm.order.recorded"
SPEND_KIND: Final = "order"
SPEND_STATUSES: Final = ["confirmed", "paid"]
DEFAULT_VALUE_CURRENCY: Final = "CNY"
MAX_TOP: Final = 100
MAX_MONTHS: Final = 120
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DECIMAL = re.compile(r"^\d+(\.\d{1,4})?$")


class InvalidOrderEvent(ValueError):
    """An order event whose payload cannot be projected (it stays in the event log)."""


def money(value: Any) -> str:
    """ClickHouse's toString of a Decimal drops trailing zeros; show at least 2 decimals."""
    number = Decimal(str(value))
    text = format(number.quantize(Decimal("0.0001")), "f")
    while text.endswith("0") and len(text.split(".")[1]) > 2:
        text = text[:-1]
    return text


def order_row(event: CloudEvent) -> Row:
    data = event.data
    try:
        version = int(data.get("version", 0))
        order_id, customer_id = uuid.UUID(str(data["order_id"])), uuid.UUID(str(data["customer_id"]))
        ordered_on = date.fromisoformat(str(data["ordered_on"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidOrderEvent(f"unusable order event: {exc}") from exc
    amount = str(data.get("amount", ""))
    if version < 1 or not _DECIMAL.match(amount):
        raise InvalidOrderEvent("order version or amount missing")
    try:
        Decimal(amount)
    except InvalidOperation as exc:
        raise InvalidOrderEvent("amount is not a decimal") from exc
    return {
        "tenant_id": uuid.UUID(event.tenantid), "order_id": order_id, "version": version,
        "external_id": str(data.get("external_id", "")), "customer_id": customer_id,
        "kind": str(data.get("kind", "")), "amount": amount, "currency": str(data.get("currency", "")),
        "ordered_on": ordered_on, "status": str(data.get("status", "")), "event_id": event.id,
    }


@dataclass(frozen=True)
class SpendMonth:
    month: str
    currency: str
    amount: str
    orders: int


@dataclass(frozen=True)
class SpendReport:
    rows: list[SpendMonth]
    from_month: str
    to_month: str


@dataclass(frozen=True)
class CustomerValue:
    customer_id: str
    lifetime_value: str
    orders: int
    last_ordered_on: str


def _month_start(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _spend(tenant_id: uuid.UUID, scope: ReportScope) -> TenantQuery:
    return scope.by_customer(
        TenantQuery(ORDERS, tenant_id, final=True)
        .where("kind = {kind:String}", kind=SPEND_KIND)
        .where("status IN {statuses:Array(String)}", statuses=SPEND_STATUSES)
    )


class OrderReports:
    def projects(self, event: CloudEvent) -> bool:
        return event.type == ORDER_RECORDED

    def rows(self, event: CloudEvent) -> list[tuple[TenantTable, Row]]:
        try:
            row = order_row(event)
        except InvalidOrderEvent as exc:
            log.warning("order event not projected", extra=telemetry.log_fields(event_id=event.id, reason=str(exc)))
            return []
        return [(ORDERS, row)]

    async def spend_by_month(
        self, analytics: Analytics, tenant_id: uuid.UUID, *, from_month: str, to_month: str, currency: str,
        today: date | None = None, scope: ReportScope = EVERY_CUSTOMER,
    ) -> SpendReport:
        errors: list[FieldError] = []
        for name, value in (("from_month", from_month), ("to_month", to_month)):
            if value and not _MONTH.match(value):
                errors.append(FieldError(name, "invalid_month", "a month as YYYY-MM"))
        if currency and not _CURRENCY.match(currency):
            errors.append(FieldError("currency", "invalid_currency", "an ISO 4217 code such as CNY"))
        if errors:
            raise InvalidInput(errors)
        current = (today or datetime.now(UTC).date()).replace(day=1)
        end = _month_start(to_month) if to_month else current
        start = _month_start(from_month) if from_month else _add_months(end, -11)
        if start > end:
            raise InvalidInput([FieldError("from_month", "invalid_range", "from_month is after to_month")])
        if _add_months(start, MAX_MONTHS) <= end:
            raise InvalidInput([FieldError("from_month", "invalid_range", f"at most {MAX_MONTHS} months")])
        query = (
            _spend(tenant_id, scope)
            .where("ordered_on >= {start:Date32}", start=start)
            .where("ordered_on < {stop:Date32}", stop=_add_months(end, 1))
        )
        if currency:
            query = query.where("currency = {currency:String}", currency=currency)
        rows = await analytics.query(
            query.select("toString(toStartOfMonth(ordered_on)) AS month", "currency",
                         "toString(sum(amount)) AS amount", "count() AS orders")
            .group_by("month", "currency").order_by("month ASC", "currency ASC")
        )
        return SpendReport(
            rows=[SpendMonth(str(r["month"])[:7], str(r["currency"]), money(r["amount"]), int(r["orders"]))
                  for r in rows],
            from_month=start.isoformat()[:7], to_month=end.isoformat()[:7],
        )

    async def customer_value(
        self, analytics: Analytics, tenant_id: uuid.UUID, *, currency: str, limit: int,
        scope: ReportScope = EVERY_CUSTOMER,
    ) -> tuple[str, list[CustomerValue]]:
        currency = currency or DEFAULT_VALUE_CURRENCY
        errors: list[FieldError] = []
        if not _CURRENCY.match(currency):
            errors.append(FieldError("currency", "invalid_currency", "an ISO 4217 code such as CNY"))
        if limit < 0 or limit > MAX_TOP:
            errors.append(FieldError("limit", "out_of_range", f"between 1 and {MAX_TOP}"))
        if errors:
            raise InvalidInput(errors)
        rows = await analytics.query(
            _spend(tenant_id, scope).where("currency = {currency:String}", currency=currency)
            .select("toString(customer_id) AS customer", "toString(sum(amount)) AS total", "count() AS orders",
                    "toString(max(ordered_on)) AS last_on")
            .group_by("customer").order_by("sum(amount) DESC", "customer ASC").limit(limit or 10)
        )
        return currency, [
            CustomerValue(str(r["customer"]), money(r["total"]), int(r["orders"]), str(r["last_on"])) for r in rows
        ]


order_reports = OrderReports()
