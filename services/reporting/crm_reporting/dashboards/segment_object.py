"""A saved segment as the object of dashboards and reports (docs/reporting.md, "Segments as the
object"): the gateway reads the segment as the viewer (their own or a shared one, else 404) and
passes its definition; this module checks it and compiles it into the `TenantQuery` on the
customers projection, with the same meaning customers' list query gives it
(crm_customers/customer/repository.py `_where_segment`, docs/tagging.md "Segments"):

- tags: `all` carries every one, `any` at least one, `none` none of them (the `customer_tags`
  projection, latest `change_seq`);
- the list filters a panel can count by (`audience.VIEW_FILTERS`; anything else is 400
  `unsupported_filter` on `object`, never ignored);
- `spend_12m` / `orders_30d`: counted orders (kind `order`, confirmed or paid) dated within the last
  365 / 30 days (today, UTC, included), spend in one currency; a range that includes 0 keeps the
  customers without such orders;
- `value_segments`: the customer's value segment as reporting last published it
  (`crm.value_segment.changed`, the `customer_value_segments` projection), the value customers'
  list column and tagging's rule facts hold too.

The viewer's data scope is not here: `Audience.customers` ANDs it, as for every object."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from crm_platform.errors import FieldError, InvalidInput
from crm_reporting.analytics import TenantQuery
from crm_reporting.customers.tables import CUSTOMER_TAGS
from crm_reporting.orders.service import SPEND_KIND, SPEND_STATUSES
from crm_reporting.orders.tables import ORDERS
from crm_reporting.value.segments_table import CUSTOMER_VALUE_SEGMENTS

VALUE_SEGMENTS: Final = ("high_value", "potential", "normal", "low_value")
DEFAULT_CURRENCY: Final = "CNY"
SPEND_DAYS: Final = 365
ORDERS_DAYS: Final = 30
# A segment whose parts are judged from spend may be used only by a viewer who may see spend, as
# customers' list refuses filtering by it (docs/tagging.md, "Data scope and field policies").
SPEND_FIELD: Final = "annual_spend"


@dataclass(frozen=True)
class SegmentObject:
    """A segment's checked definition."""

    all_tags: tuple[uuid.UUID, ...] = ()
    any_tags: tuple[uuid.UUID, ...] = ()
    none_tags: tuple[uuid.UUID, ...] = ()
    filters: tuple[tuple[str, str], ...] = ()
    spend_min: Decimal | None = None
    spend_max: Decimal | None = None
    currency: str = DEFAULT_CURRENCY
    orders_min: int | None = None
    orders_max: int | None = None
    value_segments: tuple[str, ...] = ()

    @property
    def readable_fields(self) -> tuple[str, ...]:
        """Customer fields the viewer must be able to read to count by this segment."""
        uses_spend = self.spend_min is not None or self.spend_max is not None or bool(self.value_segments)
        return (SPEND_FIELD,) if uses_spend else ()

    def narrow(self, query: TenantQuery, today: date) -> TenantQuery:
        """ANDs the segment's parts (except `all_tags` and the filters, which the audience compiles
        as it compiles a tag or a view) to a query on the customers projection."""
        tenant = query.tenant_id
        if self.any_tags:
            query = query.where_in("customer_id", _carrying(tenant, "seg_any_tags", self.any_tags))
        if self.none_tags:
            query = query.where_not_in("customer_id", _carrying(tenant, "seg_none_tags", self.none_tags))
        if self.spend_min is not None or self.spend_max is not None:
            counted = _counted(tenant, today - timedelta(days=SPEND_DAYS), "seg_spend").where(
                "currency = {seg_spend_currency:String}", seg_spend_currency=self.currency)
            query = _in_range(query, counted, "sum(amount)", "Decimal(38, 4)", "seg_spend",
                              self.spend_min, self.spend_max)
        if self.orders_min is not None or self.orders_max is not None:
            counted = _counted(tenant, today - timedelta(days=ORDERS_DAYS), "seg_orders")
            query = _in_range(query, counted, "count()", "UInt64", "seg_orders", self.orders_min, self.orders_max)
        if self.value_segments:
            published = (
                TenantQuery(CUSTOMER_VALUE_SEGMENTS, tenant, final=True).select("customer_id")
                .where("has({seg_value_segments:Array(String)}, segment)", seg_value_segments=list(self.value_segments))
            )
            query = query.where_in("customer_id", published)
        return query


def _carrying(tenant: uuid.UUID, param: str, tags: tuple[uuid.UUID, ...]) -> TenantQuery:
    return (
        TenantQuery(CUSTOMER_TAGS, tenant, final=True).select("customer_id")
        .where(f"has({{{param}:Array(String)}}, toString(tag_id))", **{param: [str(t) for t in tags]})
        .where("removed = 0")
    )


def _counted(tenant: uuid.UUID, after: date, prefix: str) -> TenantQuery:
    """Orders counted as spend dated after `after` (the customers service's `_counted`)."""
    return (
        TenantQuery(ORDERS, tenant, final=True).select("customer_id")
        .where(f"kind = {{{prefix}_kind:String}}", **{f"{prefix}_kind": SPEND_KIND})
        .where(f"has({{{prefix}_statuses:Array(String)}}, status)", **{f"{prefix}_statuses": SPEND_STATUSES})
        .where(f"ordered_on > {{{prefix}_after:Date32}}", **{f"{prefix}_after": after})
        .group_by("customer_id")
    )


def _in_range(query: TenantQuery, grouped: TenantQuery, figure: str, kind: str, prefix: str,
              lowest: Any, highest: Any) -> TenantQuery:
    """Customers whose figure (0 without counted orders) lies in [lowest, highest]: those with
    orders in range when the range excludes 0, else everyone but those above `highest`."""
    if lowest is not None and lowest > 0:
        having = grouped.having(f"{figure} >= {{{prefix}_min:{kind}}}", **{f"{prefix}_min": lowest})
        if highest is not None:
            having = having.having(f"{figure} <= {{{prefix}_max:{kind}}}", **{f"{prefix}_max": highest})
        return query.where_in("customer_id", having)
    if highest is None:
        return query
    return query.where_not_in("customer_id", grouped.having(f"{figure} > {{{prefix}_max:{kind}}}",
                                                            **{f"{prefix}_max": highest}))


def _ids(values: list[str], errors: list[FieldError]) -> tuple[uuid.UUID, ...]:
    found: list[uuid.UUID] = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            errors.append(FieldError("object", "invalid_id", "the segment names a tag that is not a UUID"))
    return tuple(sorted(set(found)))


def _decimal(text: str, errors: list[FieldError]) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.append(FieldError("object", "invalid_number", "the segment's spend bound is not a number"))
        return None
    return value


def _whole(text: str, errors: list[FieldError]) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        errors.append(FieldError("object", "invalid_number", "the segment's order bound is not a whole number"))
        return None
    return int(text)


def segment_object(definition: Any) -> tuple[SegmentObject, dict[str, str]]:
    """The checked segment and its list filters (still to be checked as a view's are) from a
    `crm.customers.v1.SegmentDefinition`, which customers validated when the segment was saved."""
    errors: list[FieldError] = []
    bad = [v for v in definition.value_segments if v not in VALUE_SEGMENTS]
    if bad:
        errors.append(FieldError("object", "invalid_choice", f"value segments are {', '.join(VALUE_SEGMENTS)}"))
    found = SegmentObject(
        all_tags=_ids(list(definition.all_tags), errors), any_tags=_ids(list(definition.any_tags), errors),
        none_tags=_ids(list(definition.none_tags), errors),
        spend_min=_decimal(definition.spend_12m_min, errors), spend_max=_decimal(definition.spend_12m_max, errors),
        currency=definition.spend_currency or DEFAULT_CURRENCY,
        orders_min=_whole(definition.orders_30d_min, errors), orders_max=_whole(definition.orders_30d_max, errors),
        value_segments=tuple(sorted(set(definition.value_segments))),
    )
    if errors:
        raise InvalidInput(errors)
    return found, dict(definition.filters)


def requested_segment(request: Any) -> Any:
    """A request's `segment_definition` when the gateway sent one, else None."""
    return request.segment_definition if request.HasField("segment_definition") else None
