"""Rule conditions: a JSON tree validated here and compiled to one SQL condition over
`rule_facts` (autotag/facts.py), so events, the scheduled sweep, re-runs and previews share one
meaning (docs/tagging.md, "Conditions").

    node  := {"all": [node, ...]} | {"any": [node, ...]} | leaf
    leaf  := {"field": F, "op": OP, "value"?: str|number, "values"?: [..], "min"?: .., "max"?: ..}
           | {"metric": M, "op": "gte"|"lte"|"between", "value"|"min"/"max": number, "days"?: int}

Fields: the standard ones in FIELDS and custom fields as `cf.<key>`. Text comparisons are on the
folded form (NFKC, casefold, trimmed): the projection stores fields folded, values are folded here.
Metrics: `order_amount` (the largest order), `orders_in_days` (orders dated in the last `days`
days, cancelled and refunded ones excluded), `days_since_last_interaction`, and the value metrics
`spend_12m` (counted spend in the last 12 months in `currency`, default CNY) and `orders_30d`
(counted orders dated in the last 30 days): "counted" as customers' `annual_spend` and reporting's
value figures count (kind order, confirmed or paid), over tagging's own order projection.
The field `value_segment` is reporting's value segment of the customer (`high_value`, `potential`,
`normal`, `low_value`; "" none), projected from `crm.value_segment.changed`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from crm_platform.errors import FieldError, InvalidInput
from crm_tagging.autotag.tables import rule_facts, rule_orders

FIELDS = ("name", "type", "industry", "region", "status", "source", "email", "mobile", "phone", "contact_person",
          "first_contact_date", "employees", "annual_revenue", "owner_id", "code", "needs")
FIELD_OPS = ("equals", "not_equals", "in", "contains", "gte", "lte", "between", "empty", "not_empty")
METRIC_OPS = ("gte", "lte", "between")
# Reporting's value segment (crm.value_segment.changed, autotag/facts.py `record_value_segments`):
# a field leaf `{"field": "value_segment", "op": "equals"|"not_equals"|"in"|"empty"|"not_empty", ...}`.
VALUE_SEGMENT = "value_segment"
VALUE_SEGMENTS = ("high_value", "potential", "normal", "low_value")
VALUE_SEGMENT_OPS = ("equals", "not_equals", "in", "empty", "not_empty")
METRICS = ("order_amount", "orders_in_days", "days_since_last_interaction", "spend_12m", "orders_30d")
# Metrics that change with time alone: rules using them need the scheduled sweep.
TIME_BASED = frozenset({"orders_in_days", "days_since_last_interaction", "spend_12m", "orders_30d"})
# Spend counts as customers' `annual_spend` and reporting's value figures count it: orders (not
# contracts) confirmed or paid, dated within the last 365 days, in one currency.
SPEND_STATUSES = ("confirmed", "paid")
DEFAULT_CURRENCY = "CNY"
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_DEPTH = 4
MAX_LEAVES = 20
MAX_VALUES = 100
MAX_TEXT = 200
CUSTOM_KEY = re.compile(r"cf\.[a-z][a-z0-9_]{0,39}")
NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CANCELLED = ("cancelled", "refunded")


def fold(text: str) -> str:
    """Comparison form: NFKC (full-width to half-width), casefold, trimmed."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def fold_fields(customer: dict[str, Any]) -> dict[str, Any]:
    """The projection's form of a customer payload: standard fields and custom fields (`cf.<key>`),
    text folded, numbers kept as text."""
    folded: dict[str, Any] = {}
    for name in FIELDS:
        value = customer.get(name)
        if value is not None and value != "":
            folded[name] = fold(str(value))
    custom = customer.get("custom_fields")
    if isinstance(custom, dict):
        for key, value in custom.items():
            if value is None or value == "" or isinstance(value, dict):
                continue
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            folded[f"cf.{key}"] = fold(text)
    return folded


class _Checker:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.leaves = 0

    def error(self, path: str, code: str, message: str) -> None:
        self.errors.append(FieldError(path, code, message))

    def node(self, node: Any, path: str, depth: int) -> dict[str, Any] | None:
        if not isinstance(node, dict):
            self.error(path, "invalid_condition", "a condition is an object")
            return None
        if depth > MAX_DEPTH:
            self.error(path, "too_deep", f"at most {MAX_DEPTH} levels of all/any")
            return None
        for group in ("all", "any"):
            if group in node:
                children = node[group]
                if set(node) != {group} or not isinstance(children, list) or not children:
                    self.error(path, "invalid_condition", f"'{group}' holds a non-empty list and nothing else")
                    return None
                cleaned = [self.node(c, f"{path}.{group}[{i}]", depth + 1) for i, c in enumerate(children)]
                return None if any(c is None for c in cleaned) else {group: cleaned}
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            self.error(path, "too_many_conditions", f"at most {MAX_LEAVES} conditions")
            return None
        return self.metric(node, path) if "metric" in node else self.field(node, path)

    def number(self, value: Any, path: str) -> str | None:
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            parsed = Decimal(str(value).strip())
            if not parsed.is_finite():
                raise InvalidOperation
            return str(parsed)
        except (InvalidOperation, ValueError):
            self.error(path, "invalid_number", "a number is required")
            return None

    def bounds(self, node: dict[str, Any], path: str, as_text: bool) -> dict[str, Any] | None:
        op = node["op"]
        out: dict[str, Any] = {}
        names = ("min", "max") if op == "between" else ("value",)
        for name in names:
            if name not in node:
                self.error(f"{path}.{name}", "required", f"{name} is required for {op}")
                return None
            raw = node[name]
            if as_text and not isinstance(raw, int | float):
                text = str(raw).strip()
                if not DATE.fullmatch(text) and self.number(raw, f"{path}.{name}") is None:
                    return None
                out[name] = text
            else:
                value = self.number(raw, f"{path}.{name}")
                if value is None:
                    return None
                out[name] = value
        return out

    def value_segment(self, node: dict[str, Any], path: str) -> dict[str, Any] | None:
        op = node.get("op")
        if op not in VALUE_SEGMENT_OPS:
            self.error(f"{path}.op", "invalid_choice", f"op must be one of {', '.join(VALUE_SEGMENT_OPS)}")
            return None
        allowed = {"field", "op", "value", "values"}
        if set(node) - allowed:
            self.error(path, "unknown_field", f"unexpected: {', '.join(sorted(set(node) - allowed))}")
            return None
        leaf: dict[str, Any] = {"field": VALUE_SEGMENT, "op": op}
        if op in ("empty", "not_empty"):
            return leaf
        name = "values" if op == "in" else "value"
        raw = node.get(name)
        values = raw if op == "in" and isinstance(raw, list) else [raw]
        if not values or any(v not in VALUE_SEGMENTS for v in values):
            self.error(f"{path}.{name}", "invalid_choice", f"one of {', '.join(VALUE_SEGMENTS)}")
            return None
        return {**leaf, "values": sorted(set(values))} if op == "in" else {**leaf, "value": values[0]}

    def field(self, node: dict[str, Any], path: str) -> dict[str, Any] | None:
        field, op = node.get("field"), node.get("op")
        if field == VALUE_SEGMENT:
            return self.value_segment(node, path)
        if not isinstance(field, str) or not (field in FIELDS or CUSTOM_KEY.fullmatch(field)):
            self.error(f"{path}.field", "unknown_field", f"a field: {', '.join(FIELDS)} or cf.<key>")
            return None
        if op not in FIELD_OPS:
            self.error(f"{path}.op", "invalid_choice", f"op must be one of {', '.join(FIELD_OPS)}")
            return None
        allowed = {"field", "op", "value", "values", "min", "max"}
        if set(node) - allowed:
            self.error(path, "unknown_field", f"unexpected: {', '.join(sorted(set(node) - allowed))}")
            return None
        leaf: dict[str, Any] = {"field": field, "op": op}
        if op in ("empty", "not_empty"):
            return leaf
        if op == "in":
            values = node.get("values")
            if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
                self.error(f"{path}.values", "required", f"1 to {MAX_VALUES} values")
                return None
            leaf["values"] = sorted({fold(str(v)) for v in values if str(v).strip()})
            if not leaf["values"]:
                self.error(f"{path}.values", "required", "values are empty")
                return None
            return leaf
        if op in ("gte", "lte", "between"):
            bounds = self.bounds(node, path, as_text=True)
            return None if bounds is None else {**leaf, **bounds}
        value = fold(str(node.get("value", "")))
        if not value:
            self.error(f"{path}.value", "required", "value is required")
            return None
        if len(value) > MAX_TEXT:
            self.error(f"{path}.value", "too_long", f"at most {MAX_TEXT} characters")
            return None
        return {**leaf, "value": value}

    def metric(self, node: dict[str, Any], path: str) -> dict[str, Any] | None:
        metric, op = node.get("metric"), node.get("op")
        if metric not in METRICS:
            self.error(f"{path}.metric", "unknown_metric", f"metric must be one of {', '.join(METRICS)}")
            return None
        if op not in METRIC_OPS:
            self.error(f"{path}.op", "invalid_choice", f"op must be one of {', '.join(METRIC_OPS)}")
            return None
        allowed = {"metric", "op", "value", "min", "max", "days", "currency"}
        if set(node) - allowed:
            self.error(path, "unknown_field", f"unexpected: {', '.join(sorted(set(node) - allowed))}")
            return None
        leaf: dict[str, Any] = {"metric": metric, "op": op}
        if metric == "orders_in_days":
            days = node.get("days")
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3660:
                self.error(f"{path}.days", "out_of_range", "days must be a whole number from 1 to 3660")
                return None
            leaf["days"] = days
        if "currency" in node:
            currency = node["currency"]
            if metric != "spend_12m" or not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
                self.error(f"{path}.currency", "invalid_currency", "an ISO 4217 code such as CNY, on spend_12m")
                return None
            leaf["currency"] = currency
        elif metric == "spend_12m":
            leaf["currency"] = DEFAULT_CURRENCY
        bounds = self.bounds(node, path, as_text=False)
        return None if bounds is None else {**leaf, **bounds}


def clean_conditions(tree: Any, path: str = "conditions") -> dict[str, Any]:
    """The stored form of a condition tree (a single leaf is wrapped in `all`), or InvalidInput
    naming each bad part by its path (`conditions.all[1].value`)."""
    checker = _Checker()
    if isinstance(tree, dict) and not ({"all", "any"} & set(tree)):
        tree = {"all": [tree]}
    cleaned = checker.node(tree, path, 1)
    if checker.errors or cleaned is None:
        raise InvalidInput(checker.errors or [FieldError(path, "invalid_condition", "invalid condition")])
    return cleaned


def leaves(tree: dict[str, Any]) -> list[dict[str, Any]]:
    for group in ("all", "any"):
        if group in tree:
            return [leaf for child in tree[group] for leaf in leaves(child)]
    return [tree]


def is_time_based(tree: dict[str, Any]) -> bool:
    return any(leaf.get("metric") in TIME_BASED for leaf in leaves(tree))


# -- compiling to SQL over rule_facts -----------------------------------------------------------


def _numeric(text: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The text as a number, NULL when it is not one (a cast would fail the whole statement)."""
    return sa.case((text.op("~")(NUMBER), sa.cast(text, sa.Numeric)), else_=sa.null())


def _compare(column: sa.ColumnElement[Any], leaf: dict[str, Any], convert: Callable[[Any], Any]
             ) -> sa.ColumnElement[bool]:
    op = leaf["op"]
    if op == "gte":
        return column >= convert(leaf["value"])
    if op == "lte":
        return column <= convert(leaf["value"])
    return sa.and_(column >= convert(leaf["min"]), column <= convert(leaf["max"]))


def _value_segment(leaf: dict[str, Any]) -> sa.ColumnElement[bool]:
    column, op = rule_facts.c.value_segment, leaf["op"]
    if op == "empty":
        return column == ""
    if op == "not_empty":
        return column != ""
    if op == "in":
        return column.in_(leaf["values"])
    return column == leaf["value"] if op == "equals" else column != leaf["value"]


def _field(leaf: dict[str, Any]) -> sa.ColumnElement[bool]:
    if leaf["field"] == VALUE_SEGMENT:
        return _value_segment(leaf)
    text = rule_facts.c.fields[leaf["field"]].astext
    op = leaf["op"]
    if op == "empty":
        return sa.func.coalesce(text, "") == ""
    if op == "not_empty":
        return sa.func.coalesce(text, "") != ""
    if op == "equals":
        return text == leaf["value"]
    if op == "not_equals":
        return sa.func.coalesce(text, "") != leaf["value"]
    if op == "in":
        return text.in_(leaf["values"])
    if op == "contains":
        return text.contains(leaf["value"], autoescape=True)
    bound = leaf.get("value", leaf.get("min"))
    if DATE.fullmatch(str(bound)):
        return _compare(text, leaf, str)  # ISO dates order as text
    return _compare(_numeric(text), leaf, Decimal)


def _metric(leaf: dict[str, Any]) -> sa.ColumnElement[bool]:
    metric = leaf["metric"]
    if metric == "order_amount":
        return _compare(rule_facts.c.max_order_amount, leaf, Decimal)
    if metric == "orders_in_days":
        since = sa.func.current_date() - int(leaf["days"])
        count = (sa.select(sa.func.count()).select_from(rule_orders)
                 .where(rule_orders.c.customer_id == rule_facts.c.customer_id, rule_orders.c.ordered_on > since,
                        rule_orders.c.status.notin_(CANCELLED))
                 .scalar_subquery())
        return _compare(count, leaf, Decimal)
    if metric in ("spend_12m", "orders_30d"):
        days = 365 if metric == "spend_12m" else 30
        counted = [rule_orders.c.customer_id == rule_facts.c.customer_id, rule_orders.c.kind == "order",
                   rule_orders.c.status.in_(SPEND_STATUSES), rule_orders.c.ordered_on > sa.func.current_date() - days]
        if metric == "spend_12m":
            counted.append(rule_orders.c.currency == leaf["currency"])
        figure = sa.func.coalesce(sa.func.sum(rule_orders.c.amount), 0) if metric == "spend_12m" else sa.func.count()
        return _compare(sa.select(figure).select_from(rule_orders).where(*counted).scalar_subquery(), leaf, Decimal)
    # days_since_last_interaction, as a bound on the timestamp so the index serves it: "at least N
    # days" is last_interaction_at <= now() - N days.
    def before(days: Any) -> sa.ColumnElement[Any]:
        return sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, float(Decimal(days)) * 86400)

    column = rule_facts.c.last_interaction_at
    if leaf["op"] == "gte":
        return column <= before(leaf["value"])
    if leaf["op"] == "lte":
        return column >= before(leaf["value"])
    return sa.and_(column <= before(leaf["min"]), column >= before(leaf["max"]))


def compile_conditions(tree: dict[str, Any]) -> sa.ColumnElement[bool]:
    """One SQL condition over `rule_facts` for a cleaned tree."""
    if "all" in tree:
        return sa.and_(*(compile_conditions(child) for child in tree["all"]))
    if "any" in tree:
        return sa.or_(*(compile_conditions(child) for child in tree["any"]))
    return _metric(tree) if "metric" in tree else _field(tree)
