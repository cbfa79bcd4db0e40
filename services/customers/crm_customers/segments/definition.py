"""A segment's definition (docs/tagging.md, "Segments"): tags (all / any / none), the customer
list's filters (a saved view's filter map) and value metrics, checked here and turned into the
list's own query (`ListQuery`) plus the parts only segments have (repository `ListFilter.tags_any`,
`tags_none`, `spend_12m`, `orders_30d`). Evaluated by the customer list query, so whatever takes
the list's filter (the list, exports, mass changes, batch tagging) takes a segment too."""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.repository import ListFilter
from crm_customers.search import filters as list_filters
from crm_customers.value_segments.column import VALUE_SEGMENTS
from crm_platform.errors import FieldError

MAX_TAGS: Final = 20
MAX_FILTERS: Final = 30
MAX_AMOUNT: Final = Decimal("1e15")
MAX_ORDERS: Final = 1_000_000
DEFAULT_CURRENCY: Final = "CNY"
_CURRENCY: Final = re.compile(r"[A-Z]{3}")
TAG_PARTS: Final = ("all_tags", "any_tags", "none_tags")
# Keys of the list's filter map a segment may not hold: another segment, selected rows.
NOT_IN_SEGMENT: Final = ("segment_id", list_filters.IDS_KEY, list_filters.TAG_KEY)
# Fields whose field policy governs a metric: a caller who may not see spend may not filter by it.
METRIC_FIELDS: Final = {"spend_12m": "annual_spend"}


@dataclass(frozen=True)
class Definition:
    all_tags: tuple[str, ...] = ()
    any_tags: tuple[str, ...] = ()
    none_tags: tuple[str, ...] = ()
    filters: dict[str, str] = field(default_factory=dict)
    spend_12m_min: str = ""
    spend_12m_max: str = ""
    spend_currency: str = ""
    orders_30d_min: str = ""
    orders_30d_max: str = ""
    # Reporting's value segment of the customer (crm_customers/value_segments), one of these.
    value_segments: tuple[str, ...] = ()

    def stored(self) -> dict[str, Any]:
        return {"all_tags": list(self.all_tags), "any_tags": list(self.any_tags), "none_tags": list(self.none_tags),
                "filters": dict(self.filters), "spend_12m_min": self.spend_12m_min,
                "spend_12m_max": self.spend_12m_max, "spend_currency": self.spend_currency,
                "orders_30d_min": self.orders_30d_min, "orders_30d_max": self.orders_30d_max,
                "value_segments": list(self.value_segments)}

    @classmethod
    def from_stored(cls, raw: dict[str, Any]) -> Definition:
        return cls(
            all_tags=tuple(raw.get("all_tags", ())), any_tags=tuple(raw.get("any_tags", ())),
            none_tags=tuple(raw.get("none_tags", ())), filters=dict(raw.get("filters", {})),
            spend_12m_min=str(raw.get("spend_12m_min", "")), spend_12m_max=str(raw.get("spend_12m_max", "")),
            spend_currency=str(raw.get("spend_currency", "")), orders_30d_min=str(raw.get("orders_30d_min", "")),
            orders_30d_max=str(raw.get("orders_30d_max", "")),
            value_segments=tuple(raw.get("value_segments", ())),
        )

    def uses_spend(self) -> bool:
        """Judged by spend: the spend range, or the value segment (reporting's, from spend)."""
        return bool(self.spend_12m_min or self.spend_12m_max or self.value_segments)

    def list_query(self) -> ListQuery:
        """The list's own filters: the filter map plus `all_tags` as the list's `tag_id`."""
        query, _ = list_filters.list_arguments(self.filters)
        return dataclasses.replace(query, tag_ids=self.all_tags)

    def extend(self, target: ListFilter) -> None:
        """Adds the parts only a segment has (already checked) to the list filter."""
        target.tags_any = [uuid.UUID(t) for t in self.any_tags]
        target.tags_none = [uuid.UUID(t) for t in self.none_tags]
        if self.uses_spend():
            target.spend_12m = (Decimal(self.spend_12m_min) if self.spend_12m_min else None,
                                Decimal(self.spend_12m_max) if self.spend_12m_max else None,
                                self.spend_currency or DEFAULT_CURRENCY)
        if self.orders_30d_min or self.orders_30d_max:
            target.orders_30d = (int(self.orders_30d_min) if self.orders_30d_min else None,
                                 int(self.orders_30d_max) if self.orders_30d_max else None)
        target.value_segments = list(self.value_segments)


def _tags(values: list[str], path: str, errors: list[FieldError]) -> tuple[str, ...]:
    if len(values) > MAX_TAGS:
        errors.append(FieldError(path, "too_many", f"at most {MAX_TAGS} tags"))
        return ()
    cleaned: list[str] = []
    for index, value in enumerate(values):
        try:
            cleaned.append(str(uuid.UUID(value.strip())))
        except ValueError:
            errors.append(FieldError(f"{path}[{index}]", "invalid_id", "a tag id"))
    return tuple(sorted(set(cleaned)))


def _bound(raw: str, path: str, errors: list[FieldError], whole: bool, highest: Decimal) -> str:
    text = raw.strip()
    if not text:
        return ""
    try:
        value = Decimal(text)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        errors.append(FieldError(path, "invalid_number", "a number"))
        return ""
    if value < 0 or value > highest or (whole and value != value.to_integral_value()):
        errors.append(FieldError(path, "out_of_range", f"{'a whole number ' if whole else ''}0-{highest}"))
        return ""
    return str(int(value)) if whole else str(value)


def check(raw: Definition, prefix: str = "definition") -> tuple[Definition, list[FieldError]]:
    """The cleaned definition and the errors of its own parts (the filter map is checked by the list
    itself afterwards, segments/service.py). Fields: `<prefix>.all_tags[0]`, `<prefix>.spend_12m_min`."""
    errors: list[FieldError] = []
    tags = {part: _tags(list(getattr(raw, part)), f"{prefix}.{part}", errors) for part in TAG_PARTS}
    overlap = set(tags["none_tags"]) & (set(tags["all_tags"]) | set(tags["any_tags"]))
    if overlap:
        errors.append(FieldError(f"{prefix}.none_tags", "contradictory", "a tag is both required and excluded"))
    if len(raw.filters) > MAX_FILTERS:
        errors.append(FieldError(f"{prefix}.filters", "too_many", f"at most {MAX_FILTERS} filters"))
    for key in raw.filters:
        if key in NOT_IN_SEGMENT:
            errors.append(FieldError(f"{prefix}.filters.{key}", "unknown_filter", "not a filter of a segment"))
    bounds = {
        name: _bound(getattr(raw, name), f"{prefix}.{name}", errors, name.startswith("orders"),
                     Decimal(MAX_ORDERS) if name.startswith("orders") else MAX_AMOUNT)
        for name in ("spend_12m_min", "spend_12m_max", "orders_30d_min", "orders_30d_max")
    }
    for low, high in (("spend_12m_min", "spend_12m_max"), ("orders_30d_min", "orders_30d_max")):
        if bounds[low] and bounds[high] and Decimal(bounds[low]) > Decimal(bounds[high]):
            errors.append(FieldError(f"{prefix}.{high}", "out_of_range", f"at least {low}"))
    currency = raw.spend_currency.strip().upper()
    if currency and not _CURRENCY.fullmatch(currency):
        errors.append(FieldError(f"{prefix}.spend_currency", "invalid_currency", "an ISO 4217 code such as CNY"))
    segments = tuple(sorted({v.strip() for v in raw.value_segments if v.strip()}))
    if any(v not in VALUE_SEGMENTS for v in segments):
        errors.append(FieldError(f"{prefix}.value_segments", "invalid_choice", f"one of {', '.join(VALUE_SEGMENTS)}"))
    cleaned = Definition(
        all_tags=tags["all_tags"], any_tags=tags["any_tags"], none_tags=tags["none_tags"],
        filters={k: v.strip() for k, v in sorted(raw.filters.items()) if v.strip()},
        spend_currency=(currency or DEFAULT_CURRENCY) if (bounds["spend_12m_min"] or bounds["spend_12m_max"]) else "",
        value_segments=segments, **bounds,
    )
    return cleaned, errors
