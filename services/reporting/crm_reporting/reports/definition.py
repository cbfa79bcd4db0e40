"""A report definition (docs/reporting.md, "Report builder"): what the builder saves and runs.

`check_definition` takes the JSON a client sent and returns a normalised `Definition` or raises
`InvalidInput` naming every field at fault (`rows[1].field` `unknown_dimension`, `measures[0].field`
`not_numeric`, ...). The catalogue (`FIELDS`) says what each field can be: a row or column
dimension, a measure's operand, a filter; which object it belongs to; and which customer field's
policy governs it (field policies are applied when the report runs, engine.py).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from crm_platform.errors import FieldError, InvalidInput
from crm_platform.i18n import N_, Msg

ObjectName = Literal["customers", "orders", "followup_records", "feedback", "customer_activity"]
OBJECTS: Final = ("customers", "orders", "followup_records", "feedback", "customer_activity")
RANGES: Final = ("all", "3m", "12m", "ytd", "custom")
BUCKETS: Final = ("day", "week", "month", "quarter", "year")
AGGREGATES: Final = ("count", "distinct_customers", "sum", "avg", "min", "max", "conversion", "csat", "nps")
# Feedback only: the share of ratings 4-5 among the rated, and the net promoter score (-100..100).
FEEDBACK_AGGREGATES: Final = ("csat", "nps")
CHARTS: Final = ("table", "bar", "line", "pie")
OPERATORS: Final = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "prefix", "is_empty",
                    "not_empty")
STATUSES: Final = ("potential", "intent", "won", "lost")
ACTIVITIES: Final = ("new", "contacted", "won", "lost")
MAX_ROWS: Final = 3
MAX_MEASURES: Final = 10
MAX_FILTERS: Final = 20
MAX_TAGS: Final = 10
MAX_VALUES: Final = 100
MAX_TOP_N: Final = 1000
MAX_VALUE_LENGTH: Final = 200
REGION_LEVELS: Final = 3
_CF_KEY = re.compile(r"^cf\.[a-z][a-z0-9_]{0,39}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Kind = Literal["text", "choice", "region", "owner", "team", "datetime", "date", "money", "number", "segment",
               "tag", "customer"]


@dataclass(frozen=True)
class FieldInfo:
    name: str
    label: Msg
    kind: Kind
    # "customer": a customer attribute (on the other objects through the record's customer); the
    # others belong to one object (`SOURCE_OBJECTS`).
    source: Literal["customer", "order", "followup_record", "feedback", "customer_activity"]
    dimension: bool = True
    measure: bool = False
    filter: bool = True
    # The customer field whose policy governs it (None: no policy, e.g. an order's own status).
    policy: str | None = None
    choices: tuple[str, ...] = ()


FIELDS: Final[dict[str, FieldInfo]] = {f.name: f for f in (
    FieldInfo("industry", N_("Industry"), "text", "customer", policy="industry"),
    FieldInfo("region", N_("Region"), "region", "customer", policy="region"),
    FieldInfo("status", N_("Status"), "choice", "customer", policy="status", choices=STATUSES),
    FieldInfo("type", N_("Customer type"), "choice", "customer", policy="type", choices=("individual", "enterprise")),
    FieldInfo("owner", N_("Owner"), "owner", "customer", policy="owner_id"),
    FieldInfo("team", N_("Team"), "team", "customer", policy="owner_id"),
    FieldInfo("source", N_("Source channel"), "text", "customer", policy="source"),
    # One group per customer (lists such as the high-value customers), labelled with its name.
    FieldInfo("customer", N_("Customer"), "customer", "customer", filter=False, policy="name"),
    FieldInfo("name", N_("Customer name"), "text", "customer", dimension=False, policy="name"),
    FieldInfo("code", N_("Customer code"), "text", "customer", dimension=False, policy="code"),
    FieldInfo("created_at", N_("Created"), "datetime", "customer"),
    FieldInfo("first_contact_date", N_("First contact"), "date", "customer", policy="first_contact_date"),
    # As a dimension: one group per tag the customer carries (a customer with several tags counts
    # under each); "(empty)" for customers without tags. Totals count each record once.
    FieldInfo("tag", N_("Tag"), "tag", "customer"),
    FieldInfo("value_segment", N_("Value segment"), "segment", "customer", policy="annual_spend",
              choices=("none", "high_value", "potential", "normal", "low_value")),
    FieldInfo("annual_spend", N_("Annual spend"), "money", "customer", dimension=False, measure=True,
              policy="annual_spend"),
    FieldInfo("lifetime_value", N_("Lifetime value"), "money", "customer", dimension=False, measure=True,
              policy="lifetime_value"),
    FieldInfo("order_count", N_("Orders to date"), "number", "customer", dimension=False, measure=True,
              policy="lifetime_value"),
    FieldInfo("order_status", N_("Order status"), "choice", "order",
              choices=("draft", "confirmed", "paid", "cancelled", "refunded")),
    FieldInfo("order_kind", N_("Order kind"), "choice", "order", choices=("order", "contract")),
    FieldInfo("currency", N_("Currency"), "text", "order"),
    FieldInfo("ordered_on", N_("Order date"), "date", "order"),
    # Orders' money is spend: governed by `annual_spend`, as `/v1/reports/spend` is.
    FieldInfo("amount", N_("Amount"), "money", "order", dimension=False, measure=True, policy="annual_spend"),
    # Follow-up records (crm_reporting/followups): who followed up, how, with what result, when.
    FieldInfo("followed_by", N_("Followed up by"), "owner", "followup_record"),
    FieldInfo("method", N_("Follow-up method"), "text", "followup_record"),
    FieldInfo("result", N_("Follow-up result"), "text", "followup_record"),
    FieldInfo("followed_at", N_("Followed up at"), "datetime", "followup_record"),
    # Feedback: the rating 1-5 as a group ("0": not rated) and, averaged, as a measure.
    FieldInfo("channel", N_("Feedback channel"), "text", "feedback"),
    FieldInfo("category", N_("Feedback category"), "text", "feedback"),
    FieldInfo("rating", N_("Rating"), "choice", "feedback", measure=True, choices=("0", "1", "2", "3", "4", "5")),
    FieldInfo("sentiment", N_("Sentiment"), "text", "feedback"),
    FieldInfo("survey_kind", N_("Survey kind"), "text", "feedback"),
    FieldInfo("received_at", N_("Feedback received"), "datetime", "feedback"),
    # Customer activity: what happened (new, contacted, won, lost) and when.
    FieldInfo("activity", N_("Activity"), "choice", "customer_activity", choices=ACTIVITIES),
    FieldInfo("happened_at", N_("Happened"), "datetime", "customer_activity"),
)}
SOURCE_OBJECTS: Final[dict[str, str]] = {"order": "orders", "followup_record": "followup_records",
                                         "feedback": "feedback", "customer_activity": "customer_activity"}
# The time field a time range is on unless the definition names one.
DEFAULT_TIME_FIELDS: Final[dict[str, str]] = {"customers": "created_at", "orders": "ordered_on",
                                              "followup_records": "followed_at", "feedback": "received_at",
                                              "customer_activity": "happened_at"}
TIME_KINDS: Final = ("datetime", "date")
NUMERIC_KINDS: Final = ("money", "number")
# Filters on money fields are not offered (they are per-customer figures computed at read time).
_FILTER_OPERATORS: Final[dict[str, tuple[str, ...]]] = {
    "text": ("eq", "ne", "in", "not_in", "contains", "prefix", "is_empty", "not_empty"),
    "choice": ("eq", "ne", "in", "not_in"),
    "region": ("eq", "prefix", "in", "is_empty", "not_empty"),
    "owner": ("eq", "ne", "in", "not_in", "is_empty", "not_empty"),
    "team": ("eq", "in"),
    "datetime": ("gte", "lt"),
    "date": ("gte", "lte", "is_empty", "not_empty"),
    "segment": ("eq", "in"),
    "tag": ("eq", "in"),
}
_NO_VALUE: Final = ("is_empty", "not_empty")
_MANY_VALUES: Final = ("in", "not_in")


def custom_field(name: str) -> FieldInfo | None:
    """`cf.<key>`: a custom field, as text (a dimension or filter) or a number (a measure)."""
    if not _CF_KEY.match(name):
        return None
    return FieldInfo(name, Msg(name), "text", "customer", measure=True, policy=name)


def field_info(name: str) -> FieldInfo | None:
    return FIELDS.get(name) or custom_field(name)


def available_on(info: FieldInfo, object_name: str) -> bool:
    return info.source == "customer" or SOURCE_OBJECTS[info.source] == object_name


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class DimensionSpec:
    field: str
    bucket: str = ""  # time fields
    level: int = 0  # region: 1..3

    @property
    def key(self) -> str:
        if self.bucket:
            return f"{self.field}:{self.bucket}"
        if self.level:
            return f"{self.field}:{self.level}"
        return self.field


@dataclass(frozen=True)
class MeasureSpec:
    agg: str
    field: str = ""
    # conversion: from status -> to status
    from_status: str = ""
    to_status: str = ""

    @property
    def key(self) -> str:
        if self.agg == "conversion":
            return f"conversion:{self.from_status}:{self.to_status}"
        return f"{self.agg}:{self.field}" if self.field else self.agg


@dataclass(frozen=True)
class TimeRange:
    range: str = "all"
    field: str = ""
    start: str = ""  # YYYY-MM-DD (custom)
    end: str = ""


@dataclass(frozen=True)
class Sort:
    by: str = "measure"  # measure | label
    measure: int = 0
    direction: str = "desc"


@dataclass(frozen=True)
class Definition:
    object: str
    rows: tuple[DimensionSpec, ...] = ()
    column: DimensionSpec | None = None
    measures: tuple[MeasureSpec, ...] = (MeasureSpec("count"),)
    filters: tuple[Filter, ...] = ()
    tags: tuple[str, ...] = ()
    view_id: str = ""
    # A saved segment as the report's customers (read by the gateway as the viewer).
    segment_id: str = ""
    time_range: TimeRange = field(default_factory=TimeRange)
    sort: Sort = field(default_factory=Sort)
    top_n: int = 0
    chart: str = "table"
    currency: str = "CNY"

    def as_json(self) -> dict[str, Any]:
        """The stored and returned shape (also what `check_definition` reads)."""
        data = asdict(self)
        data["rows"] = [_dimension_json(d) for d in self.rows]
        data["column"] = _dimension_json(self.column) if self.column else None
        data["measures"] = [_measure_json(m) for m in self.measures]
        data["filters"] = [{"field": f.field, "op": f.op, "values": list(f.values)} for f in self.filters]
        data["tags"] = list(self.tags)
        tr = self.time_range
        data["time_range"] = {"range": tr.range, "field": tr.field, "from": tr.start, "to": tr.end}
        return data

    @property
    def fields_used(self) -> set[str]:
        return ({d.field for d in self.dimensions} | {f.field for f in self.filters}
                | ({self.time_range.field} if self.time_range.range != "all" else set()))

    @property
    def dimensions(self) -> tuple[DimensionSpec, ...]:
        return self.rows + ((self.column,) if self.column else ())


def _dimension_json(d: DimensionSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"field": d.field}
    if d.bucket:
        out["bucket"] = d.bucket
    if d.level:
        out["level"] = d.level
    return out


def _measure_json(m: MeasureSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"agg": m.agg}
    if m.field:
        out["field"] = m.field
    if m.agg == "conversion":
        out["from"], out["to"] = m.from_status, m.to_status
    return out


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.errors.append(FieldError(path, code, message))

    def keys(self, path: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                self.add(f"{path}.{key}" if path else key, "unknown_field", f"one of {', '.join(allowed)}")

    def obj(self, path: str, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(path, "invalid_type", "an object")
            return None
        return value

    def items(self, path: str, value: Any, most: int) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, "invalid_type", "a list")
            return []
        if len(value) > most:
            self.add(path, "too_many", f"at most {most}")
            return []
        return value

    def text(self, path: str, value: Any, default: str = "") -> str:
        if value is None:
            return default
        if not isinstance(value, str):
            self.add(path, "invalid_type", "a string")
            return default
        if len(value) > MAX_VALUE_LENGTH:
            self.add(path, "too_long", f"at most {MAX_VALUE_LENGTH} characters")
            return default
        return value

    def integer(self, path: str, value: Any, default: int, low: int, high: int) -> int:
        if value is None:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(path, "invalid_type", "an integer")
            return default
        if not low <= value <= high:
            self.add(path, "out_of_range", f"{low}-{high}")
            return default
        return value

    def choice(self, path: str, value: Any, choices: tuple[str, ...], default: str = "") -> str:
        text = self.text(path, value, default)
        if text not in choices:
            self.add(path, "invalid_choice", f"one of {', '.join(choices)}")
            return default
        return text


def _uuid_text(checker: _Checker, path: str, value: Any) -> str:
    text = checker.text(path, value)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        checker.add(path, "invalid_id", "a UUID")
        return ""


def _dimension(checker: _Checker, path: str, raw: Any, object_name: str) -> DimensionSpec | None:
    data = checker.obj(path, raw)
    if data is None:
        return None
    checker.keys(path, data, ("field", "bucket", "level"))
    name = checker.text(f"{path}.field", data.get("field"))
    info = field_info(name)
    if info is None or not info.dimension or not available_on(info, object_name):
        checker.add(f"{path}.field", "unknown_dimension", f"not a dimension of {object_name}")
        return None
    bucket, level = "", 0
    if info.kind in TIME_KINDS:
        bucket = checker.choice(f"{path}.bucket", data.get("bucket", "month"), BUCKETS, "month")
    elif data.get("bucket") is not None:
        checker.add(f"{path}.bucket", "not_applicable", "only time fields have buckets")
    if info.kind == "region":
        level = checker.integer(f"{path}.level", data.get("level", 1), 1, 1, REGION_LEVELS)
    elif data.get("level") is not None:
        checker.add(f"{path}.level", "not_applicable", "only the region has levels")
    return DimensionSpec(name, bucket, level)


def _measure(checker: _Checker, path: str, raw: Any, object_name: str) -> MeasureSpec | None:
    data = checker.obj(path, raw)
    if data is None:
        return None
    checker.keys(path, data, ("agg", "field", "from", "to"))
    agg = checker.choice(f"{path}.agg", data.get("agg"), AGGREGATES)
    if not agg:
        return None
    if agg in ("count", "distinct_customers"):
        if data.get("field"):
            checker.add(f"{path}.field", "not_applicable", f"{agg} takes no field")
        return MeasureSpec(agg)
    if agg in FEEDBACK_AGGREGATES:
        if object_name != "feedback":
            checker.add(f"{path}.agg", "not_available", f"{agg} is computed over feedback")
            return None
        if data.get("field"):
            checker.add(f"{path}.field", "not_applicable", f"{agg} takes no field")
        return MeasureSpec(agg)
    if agg == "conversion":
        # Over customers, or the distinct customers of follow-up records (those a rep contacted).
        if object_name not in ("customers", "followup_records"):
            checker.add(f"{path}.agg", "not_available",
                        "conversion rates are computed over customers or follow-up records")
            return None
        start = checker.choice(f"{path}.from", data.get("from"), STATUSES)
        end = checker.choice(f"{path}.to", data.get("to"), STATUSES)
        if start and start == end:
            checker.add(f"{path}.to", "invalid_choice", "a status other than from")
        return MeasureSpec(agg, from_status=start, to_status=end) if start and end else None
    name = checker.text(f"{path}.field", data.get("field"))
    info = field_info(name)
    if not name:
        checker.add(f"{path}.field", "required", f"{agg} needs a money or number field")
        return None
    if info is None or not available_on(info, object_name):
        checker.add(f"{path}.field", "unknown_field", f"not a field of {object_name}")
        return None
    if not info.measure:
        checker.add(f"{path}.field", "not_numeric", f"{agg} needs a money or number field")
        return None
    return MeasureSpec(agg, name)


def _filter(checker: _Checker, path: str, raw: Any, object_name: str) -> Filter | None:
    data = checker.obj(path, raw)
    if data is None:
        return None
    checker.keys(path, data, ("field", "op", "value", "values"))
    name = checker.text(f"{path}.field", data.get("field"))
    info = field_info(name)
    if info is None or not info.filter or not available_on(info, object_name):
        checker.add(f"{path}.field", "unknown_field", f"not a filter of {object_name}")
        return None
    operators = _FILTER_OPERATORS.get(info.kind, ())
    op = checker.text(f"{path}.op", data.get("op"), "eq") or "eq"
    if op not in operators:
        checker.add(f"{path}.op", "invalid_operator", f"one of {', '.join(operators)} for {name}")
        return None
    raw_values = data.get("values")
    if raw_values is None and data.get("value") is not None:
        raw_values = [data.get("value")]
    values = tuple(checker.text(f"{path}.values", v) for v in checker.items(f"{path}.values", raw_values,
                                                                             MAX_VALUES))
    if op in _NO_VALUE:
        return Filter(name, op)
    if not values or (op not in _MANY_VALUES and info.kind != "tag" and len(values) != 1):
        checker.add(f"{path}.values", "invalid_value", "one value" if op not in _MANY_VALUES else "one or more values")
        return None
    for value in values:
        if info.choices and value not in info.choices:
            checker.add(f"{path}.values", "invalid_choice", f"one of {', '.join(info.choices)}")
        elif info.kind in TIME_KINDS and not (_DAY.match(value) and _date_ok(value)):
            checker.add(f"{path}.values", "invalid_date", "a date as YYYY-MM-DD")
        elif info.kind in ("team", "tag"):
            try:
                uuid.UUID(value)
            except ValueError:
                checker.add(f"{path}.values", "invalid_id", "a UUID")
    return Filter(name, op, values)


def _date_ok(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _time_range(checker: _Checker, raw: Any, object_name: str) -> TimeRange:
    data = checker.obj("time_range", raw)
    if data is None:
        return TimeRange(field=_default_time_field(object_name))
    checker.keys("time_range", data, ("range", "field", "from", "to"))
    name = checker.choice("time_range.range", data.get("range", "all"), RANGES, "all")
    time_field = checker.text("time_range.field", data.get("field")) or _default_time_field(object_name)
    info = field_info(time_field)
    if info is None or info.kind not in TIME_KINDS or not available_on(info, object_name):
        checker.add("time_range.field", "unknown_field", f"a date field of {object_name}")
    start = checker.text("time_range.from", data.get("from"))
    end = checker.text("time_range.to", data.get("to"))
    if name == "custom":
        for key, value in (("from", start), ("to", end)):
            if not value:
                checker.add(f"time_range.{key}", "required", "range custom needs from and to")
            elif not (_DAY.match(value) and _date_ok(value)):
                checker.add(f"time_range.{key}", "invalid_date", "a date as YYYY-MM-DD")
        if start and end and _DAY.match(start) and _DAY.match(end) and start > end:
            checker.add("time_range.from", "invalid_range", "from is after to")
    elif start or end:
        checker.add("time_range.from", "not_allowed", "from and to go with range custom")
    return TimeRange(name, time_field, start if name == "custom" else "", end if name == "custom" else "")


def _default_time_field(object_name: str) -> str:
    return DEFAULT_TIME_FIELDS[object_name]


def check_definition(raw: Any) -> Definition:
    """The definition as a client wrote it, checked and normalised; `InvalidInput` names every
    field at fault."""
    checker = _Checker()
    data = checker.obj("definition", raw)
    if data is None:
        raise InvalidInput([FieldError("definition", "required", "a report definition")])
    checker.keys("", data, ("object", "rows", "column", "measures", "filters", "tags", "view_id", "segment_id",
                            "time_range", "sort", "top_n", "chart", "currency"))
    object_name = checker.choice("object", data.get("object"), OBJECTS)
    if not object_name:
        raise InvalidInput(checker.errors)
    rows = [_dimension(checker, f"rows[{i}]", r, object_name)
            for i, r in enumerate(checker.items("rows", data.get("rows"), MAX_ROWS))]
    column = _dimension(checker, "column", data.get("column"), object_name) if data.get("column") else None
    raw_measures = checker.items("measures", data.get("measures", [{"agg": "count"}]), MAX_MEASURES)
    if not raw_measures and not any(e.field == "measures" for e in checker.errors):
        checker.add("measures", "required", "at least one measure")
    measures = [_measure(checker, f"measures[{i}]", m, object_name) for i, m in enumerate(raw_measures)]
    filters = [_filter(checker, f"filters[{i}]", f, object_name)
               for i, f in enumerate(checker.items("filters", data.get("filters"), MAX_FILTERS))]
    tags = [_uuid_text(checker, f"tags[{i}]", t) for i, t in enumerate(checker.items("tags", data.get("tags"),
                                                                                     MAX_TAGS))]
    view_id = _uuid_text(checker, "view_id", data["view_id"]) if data.get("view_id") else ""
    segment_id = _uuid_text(checker, "segment_id", data["segment_id"]) if data.get("segment_id") else ""
    if view_id and segment_id:
        checker.add("segment_id", "not_allowed", "a report counts a saved view's customers or a segment's, not both")
    time_range = _time_range(checker, data.get("time_range"), object_name)
    sort_data = checker.obj("sort", data.get("sort")) or {}
    checker.keys("sort", sort_data, ("by", "measure", "direction"))
    sort = Sort(
        checker.choice("sort.by", sort_data.get("by", "measure"), ("measure", "label"), "measure"),
        checker.integer("sort.measure", sort_data.get("measure", 0), 0, 0, max(len(raw_measures) - 1, 0)),
        checker.choice("sort.direction", sort_data.get("direction", "desc"), ("asc", "desc"), "desc"),
    )
    top_n = checker.integer("top_n", data.get("top_n", 0), 0, 0, MAX_TOP_N)
    chart = checker.choice("chart", data.get("chart", "table"), CHARTS, "table")
    currency = checker.text("currency", data.get("currency"), "CNY") or "CNY"
    if not _CURRENCY.match(currency):
        checker.add("currency", "invalid_currency", "an ISO 4217 code such as CNY")
    if top_n and not rows:
        checker.add("top_n", "requires_rows", "top N applies to the first row dimension")
    found_rows = [r for r in rows if r is not None]
    keys = [d.key for d in found_rows] + ([column.key] if column else [])
    for index, key in enumerate(keys):
        if key in keys[:index]:
            path = f"rows[{index}]" if index < len(found_rows) else "column"
            checker.add(f"{path}.field", "duplicate", f"{key} is used twice")
    if checker.errors:
        raise InvalidInput(checker.errors)
    return Definition(
        object=object_name, rows=tuple(found_rows), column=column,
        measures=tuple(m for m in measures if m is not None), filters=tuple(f for f in filters if f is not None),
        tags=tuple(t for t in tags if t), view_id=view_id, segment_id=segment_id, time_range=time_range, sort=sort,
        top_n=top_n,
        chart=chart, currency=currency,
    )
