"""Whose customers a dashboard panel counts: the caller's data scope, narrowed by the panel's object
(every customer in scope, those carrying a tag, or those a saved view's filters select), and the
time range it counts in. Both are compiled into the `TenantQuery` (never filtered afterwards), and
both are also rendered as `GET /v1/customers` query parameters, so a slice opens exactly the
customers it counts (docs/reporting.md, "Dashboards")."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from crm_platform.errors import FieldError, InvalidInput
from crm_reporting.analytics import TenantQuery
from crm_reporting.customers.tables import CUSTOMER_TAGS, CUSTOMERS
from crm_reporting.dashboards.segment_object import SegmentObject, segment_object
from crm_reporting.scope.service import ReportScope

DEFAULT_RANGE: Final = "12m"
RANGES: Final = ("3m", "12m", "ytd", "custom")
MAX_RANGE_DAYS: Final = 3700  # about ten years
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHOICES: Final = {"status": ("potential", "intent", "won", "lost"), "type": ("individual", "enterprise")}
# The saved-view filters a panel can compile (the list's own names and meanings,
# docs/customers.md "List filters"); any other filter of a view is refused rather than ignored.
VIEW_FILTERS: Final = frozenset({
    "status", "type", "owner_id", "industry", "region", "source", "tag_id", "created_after", "created_before",
    "first_contact_after", "first_contact_before", "acquired_after", "acquired_before",
})


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _day(name: str, value: str, errors: list[FieldError]) -> date | None:
    if not _DAY.match(value):
        errors.append(FieldError(name, "invalid_date", "a date as YYYY-MM-DD"))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError(name, "invalid_date", "a date as YYYY-MM-DD"))
        return None


@dataclass(frozen=True)
class DateRange:
    """Inclusive days, UTC."""

    start: date
    end: date

    @property
    def stop(self) -> date:
        """The day after `end` (exclusive bound)."""
        return self.end + timedelta(days=1)


def parse_range(name: str, start: str, end: str, today: date, *, prefix: str = "") -> DateRange:
    """`3m` / `12m`: the last 3 / 12 months to today; `ytd`: 1 January to today; `custom`: `from`
    and `to` (YYYY-MM-DD, inclusive, at most ten years)."""
    name = name or DEFAULT_RANGE
    errors: list[FieldError] = []
    if name not in RANGES:
        raise InvalidInput([FieldError(f"{prefix}range", "invalid_choice", f"one of {', '.join(RANGES)}")])
    if name != "custom":
        if start or end:
            errors.append(FieldError(f"{prefix}from", "not_allowed", "from and to go with range=custom"))
            raise InvalidInput(errors)
        first = {"3m": add_months(today, -3) + timedelta(days=1), "12m": add_months(today, -12) + timedelta(days=1),
                 "ytd": date(today.year, 1, 1)}[name]
        return DateRange(first, today)
    first_day = _day(f"{prefix}from", start, errors) if start else None
    last_day = _day(f"{prefix}to", end, errors) if end else None
    if not start:
        errors.append(FieldError(f"{prefix}from", "required", "range=custom needs from"))
    if not end:
        errors.append(FieldError(f"{prefix}to", "required", "range=custom needs to"))
    if errors or first_day is None or last_day is None:
        raise InvalidInput(errors)
    if first_day > last_day:
        raise InvalidInput([FieldError(f"{prefix}from", "invalid_range", "from is after to")])
    if (last_day - first_day).days > MAX_RANGE_DAYS:
        raise InvalidInput([FieldError(f"{prefix}from", "invalid_range", "at most ten years")])
    return DateRange(first_day, last_day)


def _uuid(name: str, value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidInput([FieldError(name, "invalid_id", "a UUID")]) from None


@dataclass(frozen=True)
class Audience:
    """The customers a panel counts: `scope` (data scope) AND the object's conditions. Deleted
    customers are never counted (merged-away customers are deleted: their orders moved to the
    survivor)."""

    scope: ReportScope
    object: str = "all"
    tag_ids: tuple[uuid.UUID, ...] = ()
    # The object's conditions as `GET /v1/customers` parameters (a view's filters, `tag_id`).
    list_filter: dict[str, str] = field(default_factory=dict)
    view_filters: dict[str, str] = field(default_factory=dict)
    # A saved segment's parts beyond its tags `all` and list filters (segment_object.py).
    segment: SegmentObject | None = None

    @property
    def readable_fields(self) -> tuple[str, ...]:
        """Customer fields the viewer must be able to read to count this audience (a segment
        judged by spend): servicers check them (`require_readable_fields`)."""
        return self.segment.readable_fields if self.segment is not None else ()

    def customers(self, query: TenantQuery) -> TenantQuery:
        """Narrows a query on the customers projection (read with FINAL) to the audience."""
        query = self.scope.customers(query).where("deleted = 0")
        for index, tag_id in enumerate(self.tag_ids):
            carrying = (
                TenantQuery(CUSTOMER_TAGS, query.tenant_id, final=True).select("customer_id")
                .where(f"tag_id = {{object_tag_{index}:UUID}}", **{f"object_tag_{index}": tag_id})
                .where("removed = 0")
            )
            query = query.where_in("customer_id", carrying)
        query = _view_conditions(query, self.view_filters)
        if self.segment is not None:
            query = self.segment.narrow(query, datetime.now(UTC).date())
        return query

    @property
    def whole_scope(self) -> bool:
        """Every customer of the data scope but the deleted ones (object `all`, or a view without
        filters): what the per-owner spend rollup can answer (orders/rollup.py)."""
        return not self.tag_ids and not self.view_filters and self.segment is None

    @property
    def everyone(self) -> bool:
        """Every customer of the tenant but the deleted ones (data scope `all`, object `all`)."""
        return (self.scope.owners is None and not self.tag_ids and not self.view_filters
                and self.segment is None)

    def by_customer(self, query: TenantQuery) -> TenantQuery:
        """Narrows a query on a table keyed by `customer_id` (orders, status history). For everyone,
        an anti-join on the deleted customers (few, found through the primary key) instead of a
        semi-join on every live customer (a million-row hash set probed by every row)."""
        if self.everyone:
            return query.where_not_in("customer_id", deleted_customers(query.tenant_id))
        members = self.customers(TenantQuery(CUSTOMERS, query.tenant_id, final=True).select("customer_id"))
        return query.where_in("customer_id", members)

    def filter(self, **extra: str) -> dict[str, str]:
        """List parameters for the audience narrowed by a slice's own parameters."""
        return {**self.list_filter, **extra}


def deleted_customers(tenant_id: uuid.UUID) -> TenantQuery:
    """The customers whose latest version is deleted: those with any deleted version (a scan of the
    one-byte `deleted` column), then their latest versions read with FINAL through the primary key
    (tenant_id, customer_id), so only the granules holding them are merged."""
    ever_deleted = TenantQuery(CUSTOMERS, tenant_id).select("customer_id").where("deleted = 1")
    return (TenantQuery(CUSTOMERS, tenant_id, final=True).select("customer_id").where("deleted = 1")
            .where_in("customer_id", ever_deleted))


def _view_conditions(query: TenantQuery, filters: dict[str, str]) -> TenantQuery:
    for name, value in sorted(filters.items()):
        param = f"view_{name}"
        if name in ("status", "type", "owner_id", "industry", "source"):
            query = query.where(f"{name} = {{{param}:String}}", **{param: value})
        elif name == "region":
            query = query.where(f"region = {{{param}:String}} OR startsWith(region, {{{param}_path:String}})",
                                **{param: value, f"{param}_path": value + "/"})
        elif name in ("created_after", "created_before"):
            op = ">=" if name == "created_after" else "<"
            query = query.where(f"created_at {op} parseDateTime64BestEffort({{{param}:String}}, 6)", **{param: value})
        elif name in ("first_contact_after", "first_contact_before"):
            op = ">=" if name == "first_contact_after" else "<="
            query = query.where(f"first_contact_date {op} {{{param}:Date32}}", **{param: date.fromisoformat(value)})
        elif name in ("acquired_after", "acquired_before"):  # first contact, else created: first_contact_on
            op = ">=" if name == "acquired_after" else "<="
            query = query.where(f"first_contact_on {op} {{{param}:Date32}}", **{param: date.fromisoformat(value)})
    return query


def _check_view_filters(filters: dict[str, str]) -> dict[str, str]:
    errors: list[FieldError] = []
    kept: dict[str, str] = {}
    for name, value in filters.items():
        if value == "":
            continue
        if name not in VIEW_FILTERS:
            errors.append(FieldError("object", "unsupported_filter",
                                     f"the view filters on {name}, which dashboards cannot count by"))
            continue
        if name in _CHOICES and value not in _CHOICES[name]:
            errors.append(FieldError("object", "invalid_choice", f"the view's {name} is not one of {_CHOICES[name]}"))
        if name in ("first_contact_after", "first_contact_before", "acquired_after", "acquired_before"):
            try:
                date.fromisoformat(value)
            except ValueError:
                errors.append(FieldError("object", "invalid_date", f"the view's {name} is not a date"))
        if name in ("created_after", "created_before") and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
            errors.append(FieldError("object", "invalid_date", f"the view's {name} is not a date"))
        kept[name] = value
    if errors:
        raise InvalidInput(errors)
    return kept


def parse_object(text: str, scope: ReportScope, view_filters: dict[str, str], segment: Any = None) -> Audience:
    """`all` (default), `tag:<id>`, `view:<id>` (with the view's filters, which the gateway read
    as the caller) or `segment:<id>` (with the segment's definition, a
    `crm.customers.v1.SegmentDefinition` the gateway read as the caller)."""
    text = text or "all"
    if text == "all":
        return Audience(scope)
    kind, _, ident = text.partition(":")
    if kind == "tag":
        tag_id = _uuid("object", ident)
        return Audience(scope, text, (tag_id,), {"tag_id": str(tag_id)})
    if kind == "view":
        _uuid("object", ident)
        filters = _check_view_filters(view_filters)
        tags = tuple(_uuid("object", t.strip()) for t in filters.pop("tag_id", "").split(",") if t.strip())
        list_filter = dict(filters) | ({"tag_id": ",".join(str(t) for t in tags)} if tags else {})
        return Audience(scope, text, tags, list_filter, filters)
    if kind == "segment":
        segment_id = _uuid("object", ident)
        if segment is None:
            raise InvalidInput([FieldError("object", "not_available",
                                           "a segment is the object of dashboards and reports, not of this")])
        found, segment_filters = segment_object(segment)
        filters = _check_view_filters(segment_filters)
        return Audience(scope, text, found.all_tags, {"segment_id": str(segment_id)}, filters, found)
    raise InvalidInput([FieldError("object", "invalid_object", "all, tag:<id>, view:<id> or segment:<id>")])
