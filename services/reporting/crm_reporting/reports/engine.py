"""Running a report definition (docs/reporting.md, "Report builder"): one `TenantQuery` with GROUPING
SETS over the customers or orders projection, narrowed to the viewer's audience (their data scope,
the definition's tags / saved view, filters and time range: all compiled into the query), with the
per-customer figures it needs joined beside each row (spend and value segment from the orders,
conversions from the status history). The grouping sets give every subtotal and the grand total
in ClickHouse; Python only orders and labels the rows into a `PivotResult`.

Field policies are the viewer's: a dimension, filter or time field the viewer may not see (hidden
or masked) refuses the run (403 `field_hidden`), a measure over such a field is dropped and named
in `omitted_fields` (customer service gets a spend report's counts without the money), and a
report left with no measure is refused.

At most `MAX_CELLS` cells (row groups x column values x measures, counted in ClickHouse before the
pivot runs); a larger result is refused (400 `too_many_cells`), never cut.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.access import field_policy, require_readable_fields
from crm_platform.auth import Principal
from crm_platform.errors import FieldError, InvalidInput, PermissionDenied
from crm_platform.i18n import N_, Locale, Messages, Msg, locale_or_default, messages
from crm_reporting.analytics import Analytics, Row, TenantQuery
from crm_reporting.customers.tables import CUSTOMER_STATUS_CHANGES, CUSTOMER_TAGS, CUSTOMERS
from crm_reporting.dashboards.audience import Audience, add_months, parse_object, parse_range
from crm_reporting.dashboards.segment_object import segment_from_json, segment_json
from crm_reporting.followups.report_objects import CSAT_SQL, NPS_SQL, RECORD_COLUMNS, RECORD_FIGURES, RECORD_OBJECTS
from crm_reporting.followups.tables import FOLLOWUP_RECORDS
from crm_reporting.orders.rollup import (
    CUSTOMER_SPEND,
    ORDERS_BY_DAY,
    counted_orders_by_customer,
    counted_orders_by_day,
    customer_spend,
)
from crm_reporting.reports.definition import (
    FIELDS,
    Definition,
    DimensionSpec,
    Filter,
    MeasureSpec,
    field_info,
)
from crm_reporting.reports.files.xlsx_file import Aggregate, PivotSource
from crm_reporting.reports.result import (
    CellValue,
    Dimension,
    Measure,
    MeasureKind,
    PivotCell,
    PivotResult,
    UnderlyingRows,
)
from crm_reporting.scope.service import EVERY_CUSTOMER, ReportScope, report_scope
from crm_reporting.scope.tables import user_teams
from crm_reporting.value.rules import value_rule_store
from crm_reporting.value.service import SEGMENTS, value_query

MAX_CELLS: Final = 1_000_000
# A customer's tags as the tag dimension groups them ("" for none): one row per element.
TAG_VALUES: Final = "arrayResize(t.tag_ids, greatest(length(t.tag_ids), 1), {empty:String})"
# The most customers a cell's click-through lists (`cell_customers`).
MAX_CELL_CUSTOMERS: Final = 10_000
OTHERS_KEY: Final = "\u2063others"  # an invisible separator: no real value equals it
SEGMENT_CODES: Final = {"none": 0, **{name: index + 1 for index, name in enumerate(SEGMENTS)}}
# Customer columns an orders report reads through the order's customer (join `c`).
_CUSTOMER_COLUMNS: Final = {
    "industry": "industry", "region": "region", "status": "status", "type": "type", "owner": "owner_id",
    "team": "owner_id", "source": "source", "created_at": "created_at", "first_contact_date": "first_contact_date",
    # Not a field: the first segment of `region`, kept by the projection (a region dimension at level 1).
    "region_top": "region_top",
}
_ORDER_COLUMNS: Final = {"order_status": "status", "order_kind": "kind", "currency": "currency",
                         "ordered_on": "ordered_on"}
_VALUE_MEASURES: Final = {"annual_spend": "v.annual_spend", "lifetime_value": "v.lifetime_value",
                          "order_count": "v.orders"}
_SQL_AGG: Final = {"sum": "sum", "avg": "avg", "min": "min", "max": "max"}

_LABELS: Final[dict[str, Msg]] = {
    "potential": N_("Potential"), "intent": N_("Intent"), "won": N_("Won"), "lost": N_("Lost"),
    "individual": N_("Individual"), "enterprise": N_("Enterprise"),
    "high_value": N_("High value"), "normal": N_("Normal"), "low_value": N_("Low value"), "none": N_("No orders"),
    "draft": N_("Draft"), "confirmed": N_("Confirmed"), "paid": N_("Paid"), "cancelled": N_("Cancelled"),
    "refunded": N_("Refunded"), "order": N_("Order"), "contract": N_("Contract"),
    "new": N_("New"), "contacted": N_("Contacted"),
}
_SEGMENT_LABELS: Final[dict[str, Msg]] = {
    "0": N_("No orders"), "1": N_("High value"), "2": N_("Potential"), "3": N_("Normal"), "4": N_("Low value"),
}
_AGG_LABELS: Final[dict[str, Msg]] = {
    "sum": N_("%(field)s (sum)"), "avg": N_("%(field)s (average)"), "min": N_("%(field)s (minimum)"),
    "max": N_("%(field)s (maximum)"),
}
_BUCKET_LABELS: Final[dict[str, Msg]] = {
    "day": N_("%(field)s (day)"), "week": N_("%(field)s (week)"), "month": N_("%(field)s (month)"),
    "quarter": N_("%(field)s (quarter)"), "year": N_("%(field)s (year)"),
}
_OPERATOR_LABELS: Final[dict[str, str]] = {
    "eq": "=", "ne": "≠", "in": "∈", "not_in": "∉", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
    "contains": "∋", "prefix": "^", "is_empty": "∅", "not_empty": "≠ ∅",
}


@dataclass(frozen=True)
class RunRequest:
    definition: Definition
    title: str = ""
    locale: str = "en"
    time_zone: str = "UTC"
    # The saved view's filters (definition.view_id), read by the gateway as the viewer.
    view_filters: dict[str, str] = field(default_factory=dict)
    # The segment's definition (definition.segment_id), a crm.customers.v1.SegmentDefinition read
    # by the gateway as the viewer.
    segment: Any = None
    today: date | None = None


@dataclass
class _Plan:
    """What the compilation decided: expressions, their parameters, and what to join."""

    definition: Definition
    principal: Principal
    zone: str
    today: date
    measures: list[MeasureSpec]
    omitted: list[str]
    dims: list[str] = field(default_factory=list)  # SQL expression per dimension (rows, then column)
    params: dict[str, Any] = field(default_factory=dict)
    needs_value: bool = False  # per-customer spend (money measures)
    needs_annual: bool = False  # ... including the 12-month spend (then read from the orders by day)
    needs_segment: bool = False  # the value segment (a dimension or filter): the value model's query
    needs_customer_join: bool = False
    # A tag dimension: each record is repeated once per tag it carries (arrayJoin over join `t`),
    # so every measure counts each record once per group (`_once`).
    needs_tags: bool = False
    conversions: list[MeasureSpec] = field(default_factory=list)
    # The ids of the customers the report counts (audience and customer-level filters).
    members: TenantQuery | None = None

    @property
    def record_key(self) -> str:
        if self.definition.object in RECORD_OBJECTS:
            return RECORD_OBJECTS[self.definition.object].key
        return "order_id" if self.definition.object == "orders" else "customer_id"


def _zone(name: str) -> str:
    try:
        ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput([FieldError("time_zone", "invalid_time_zone", "an IANA time zone")]) from None
    return name or "UTC"


def _hidden(principal: Principal, policy: str | None) -> bool:
    return policy is not None and field_policy(principal, policy) in ("hidden", "masked")


def _policies(definition: Definition, principal: Principal) -> tuple[list[MeasureSpec], list[str]]:
    """Dimensions, filters and the time field must be readable (else 403); measures over unreadable
    fields are dropped and named."""
    refused = sorted({
        info.policy for name in definition.fields_used
        if (info := field_info(name)) is not None and info.policy and _hidden(principal, info.policy)
    })
    if refused:
        raise PermissionDenied(f"your role may not see {', '.join(refused)}", code="field_hidden",
                               extra={"fields": refused})
    kept, omitted = [], []
    for measure in definition.measures:
        info = field_info(measure.field) if measure.field else None
        policy = "status" if measure.agg == "conversion" else (info.policy if info is not None else None)
        if _hidden(principal, policy):
            omitted.append(str(policy))
        else:
            kept.append(measure)
    if not kept:
        fields = sorted(set(omitted))
        raise PermissionDenied(f"your role may not see {', '.join(fields)}", code="field_hidden",
                               extra={"fields": fields})
    return kept, sorted(set(omitted))


# -- compiling -------------------------------------------------------------------------------------

def _column(plan: _Plan, name: str, *, outer: bool) -> str:
    """The SQL column of a field where the query reads it: on a customers report the customers
    projection; on an orders report the order's own columns, or the customer's through join `c`
    (`outer`) / the customers subquery (not `outer`)."""
    if name in _ORDER_COLUMNS:
        return _ORDER_COLUMNS[name]
    if name in RECORD_COLUMNS:
        return RECORD_COLUMNS[name]
    if name == "value_segment":
        return "v.segment"
    column = "custom" if name.startswith("cf.") else _CUSTOMER_COLUMNS[name]
    if plan.definition.object != "customers" and outer:
        plan.needs_customer_join = True
        return f"c_{column}"
    return column


def _custom(plan: _Plan, name: str, column: str, param: str) -> str:
    plan.params[param] = name.removeprefix("cf.")
    return f"{column}[{{{param}:String}}]"


def _time_bucket(expression: str, kind: str, bucket: str) -> str:
    zone = ", {zone:String}" if kind == "datetime" else ""
    if bucket == "day":
        return f"toString(toDate({expression}{zone}))"
    if bucket == "week":
        return f"toString(toStartOfWeek({expression}, 1{zone}))"
    function = {"month": "toStartOfMonth", "quarter": "toStartOfQuarter", "year": "toStartOfYear"}[bucket]
    return f"toString({function}({expression}{zone}))"


class _Lookups:
    """What compiling reads from reporting's Postgres (the owner -> team map, the value rules),
    read at most once per compile."""

    def __init__(self, session: AsyncSession):
        self.session = session
        self._teams: tuple[list[str], list[str]] | None = None
        self._rules: Any = None

    async def team_map(self) -> tuple[list[str], list[str]]:
        if self._teams is None:
            self._teams = await _team_map(self.session)
        return self._teams

    async def value_rules(self) -> Any:
        if self._rules is None:
            self._rules = await value_rule_store.read(self.session)
        return self._rules


async def _team_map(session: AsyncSession) -> tuple[list[str], list[str]]:
    rows = (await session.execute(
        sa.select(user_teams.c.user_id, user_teams.c.team_id).where(user_teams.c.team_id.is_not(None))
    )).all()
    return [str(r.user_id) for r in rows], [str(r.team_id) for r in rows]


def _dimension_sql(plan: _Plan, spec: DimensionSpec, index: int) -> str:
    info = FIELDS.get(spec.field) or field_info(spec.field)
    assert info is not None
    if spec.field == "value_segment":
        plan.needs_segment = True
        return "toString(v.segment)"
    if spec.field == "customer":
        return "toString(customer_id)"
    if info.kind == "tag":
        # One row per tag carried; a customer without tags keeps one row with the empty key.
        plan.needs_tags = True
        plan.params["empty"] = ""
        return f"arrayJoin({TAG_VALUES})"
    column = _column(plan, spec.field, outer=True)
    if spec.field.startswith("cf."):
        return _custom(plan, spec.field, column, f"dim_cf_{index}")
    if info.kind == "datetime":
        plan.params["zone"] = plan.zone
        return _time_bucket(column, "datetime", spec.bucket)
    if info.kind == "date":
        plan.params["empty"] = ""
        return f"ifNull({_time_bucket(column, 'date', spec.bucket)}, {{empty:String}})"
    if info.kind == "region":
        plan.params["slash"] = "/"
        plan.params[f"region_level_{spec.level}"] = spec.level
        path = (f"arrayStringConcat(arraySlice(splitByChar({{slash:String}}, {column}), 1, "
                f"{{region_level_{spec.level}:UInt8}}), {{slash:String}})")
        if spec.level != 1:
            return path
        # Level 1 is the projection's `region_top` (no split per row); a row projected before that
        # column existed reads it empty and takes the split.
        top = _column(plan, "region_top", outer=True)
        return f"if(empty({top}), {path}, {top})"
    if info.kind == "team":
        plan.params["empty"] = ""
        return f"transform({column}, {{team_owner_ids:Array(String)}}, {{team_ids:Array(String)}}, {{empty:String}})"
    return column


def _condition(plan: _Plan, spec: Filter, index: int, column: str) -> tuple[str, dict[str, Any]]:
    """One filter as a condition on `column` (a custom field: its map entry)."""
    info = field_info(spec.field)
    assert info is not None
    p = f"f{index}"
    params: dict[str, Any] = {}
    if spec.field.startswith("cf."):
        params[f"{p}_key"] = spec.field.removeprefix("cf.")
        column = f"{column}[{{{p}_key:String}}]"
    values = list(spec.values)
    if info.kind == "segment":
        params[p] = [SEGMENT_CODES[v] for v in values]
        return f"has({{{p}:Array(UInt8)}}, {column})", params
    if info.kind == "team":
        return f"{column} IN {{{p}_owners:Array(String)}}", {f"{p}_owners": values}  # resolved in _compile
    if info.kind in ("datetime", "date"):
        if spec.op in ("is_empty", "not_empty"):
            return f"{column} IS {'NOT ' if spec.op == 'not_empty' else ''}NULL", params
        op = {"gte": ">=", "lt": "<", "lte": "<=", "gt": ">"}[spec.op]
        params[p] = date.fromisoformat(values[0])
        if info.kind == "datetime":
            params["zone"] = plan.zone
            return f"toDate({column}, {{zone:String}}) {op} {{{p}:Date32}}", params
        return f"{column} {op} {{{p}:Date32}}", params
    if spec.op == "is_empty":
        return f"empty({column})", params
    if spec.op == "not_empty":
        return f"notEmpty({column})", params
    if spec.op in ("in", "not_in"):
        params[p] = values
        return f"{column} {'NOT ' if spec.op == 'not_in' else ''}IN {{{p}:Array(String)}}", params
    params[p] = values[0]
    if spec.op == "contains":
        return f"positionCaseInsensitiveUTF8({column}, {{{p}:String}}) > 0", params
    if spec.op == "prefix" or (info.kind == "region" and spec.op == "eq"):
        if info.kind == "region":  # a region and everything under it
            params[f"{p}_path"] = values[0] + "/"
            return f"{column} = {{{p}:String}} OR startsWith({column}, {{{p}_path:String}})", params
        return f"startsWith({column}, {{{p}:String}})", params
    return f"{column} {'!=' if spec.op == 'ne' else '='} {{{p}:String}}", params


def _apply_filters(plan: _Plan, query: TenantQuery, filters: Sequence[tuple[int, Filter]], *,
                   outer: bool, team_owners: dict[str, list[str]]) -> TenantQuery:
    for index, spec in filters:
        if spec.field == "tag":  # carrying the tag (`in`: any of the tags)
            carrying = (TenantQuery(CUSTOMER_TAGS, query.tenant_id, final=True).select("customer_id")
                        .where(f"tag_id IN {{f{index}:Array(UUID)}}",
                               **{f"f{index}": [uuid.UUID(t) for t in spec.values]})
                        .where("removed = 0"))
            query = query.where_in("customer_id", carrying)
            continue
        column = _column(plan, spec.field, outer=outer)
        condition, params = _condition(plan, spec, index, column)
        if spec.field == "team":
            params = {f"f{index}_owners": [o for team in spec.values for o in team_owners.get(team, [])]}
        query = query.where(condition, **params)
    return query


def _once(plan: _Plan, function: str, value: str, condition: str = "") -> str:
    """`function` (sum, avg, min, max) of `value` over a group's records. With a tag dimension a
    record is repeated once per tag it carries; a group's records are then taken once each (the
    distinct (record, value) pairs), so a subtotal or total over several tags counts a customer
    carrying two of them once, as the distinct customers they are."""
    if not plan.needs_tags or function in ("min", "max"):
        return f"{function}If({value}, {condition})" if condition else f"{function}({value})"
    pairs = (f"groupUniqArrayIf(tuple({plan.record_key}, {value}), {condition})" if condition
             else f"groupUniqArray(tuple({plan.record_key}, {value}))")
    return f"{'arraySum' if function == 'sum' else 'arrayAvg'}(arrayMap(p -> tupleElement(p, 2), {pairs}))"


def _measure_sql(plan: _Plan, measure: MeasureSpec, index: int) -> str:
    if measure.agg == "count":
        return f"uniqExact({plan.record_key})" if plan.needs_tags else "count()"
    if measure.agg == "distinct_customers":
        return "uniqExact(customer_id)"
    if measure.agg in ("csat", "nps"):
        sql = CSAT_SQL if measure.agg == "csat" else NPS_SQL
        if plan.needs_tags:  # each feedback once per group, not once per tag it is repeated for
            sql = sql.replace("countIf(", "uniqExactIf(feedback_id, ")
        return sql
    if measure.agg == "conversion":
        position = len(plan.conversions)
        plan.conversions.append(measure)
        if plan.definition.object != "customers":  # over the distinct customers of the records
            return (f"uniqExactIf(customer_id, s.converted_{position}) / "
                    f"nullIf(uniqExactIf(customer_id, s.entered_{position}), 0)")
        return (f"{_once(plan, 'sum', f's.converted_{position}')} / "
                f"nullIf({_once(plan, 'sum', f's.entered_{position}')}, 0)")
    function = _SQL_AGG[measure.agg]
    if measure.field in _VALUE_MEASURES:
        plan.needs_value = True
        plan.needs_annual = plan.needs_annual or measure.field == "annual_spend"
        return f"toString({_once(plan, function, _VALUE_MEASURES[measure.field])})"
    if measure.field == "amount":
        plan.params["currency"] = plan.definition.currency
        return f"toString({_once(plan, function, 'amount', 'currency = {currency:String}')})"
    if measure.field in RECORD_FIGURES:
        return _once(plan, function, RECORD_FIGURES[measure.field])
    column = _column(plan, measure.field, outer=True)
    return _once(plan, function, f"toFloat64OrNull({_custom(plan, measure.field, column, f'measure_cf_{index}')})")


def _grouping_sets(rows: int, column: bool) -> str:
    names = [f"d{i}" for i in range(rows)]
    sets = []
    for size in range(rows, -1, -1):
        prefix = names[:size]
        if column:
            sets.append("(" + ", ".join([*prefix, "c0"]) + ")")
        sets.append("(" + ", ".join(prefix) + ")")
    return "GROUPING SETS (" + ", ".join(sets) + ")"


def _segment_audience(segment_id: str, scope: ReportScope, segment: Any) -> Audience:
    """The report's customers from a segment; its errors name `segment_id`."""
    try:
        return parse_object(f"segment:{segment_id}", scope, {}, segment)
    except InvalidInput as exc:
        raise InvalidInput([FieldError("segment_id", e.code, e.message) for e in exc.errors]) from None


def check_segment(definition: Definition, principal: Principal, segment: Any) -> None:
    """Where a run is only queued (an export, a share link, a subscription): the definition's
    segment is there, parses, and the principal may count by it (400 on `segment_id`, 403
    `field_hidden`), so the job does not fail later for what could be said now."""
    if definition.segment_id and not definition.view_id:
        audience = _segment_audience(definition.segment_id, EVERY_CUSTOMER, segment)
        require_readable_fields(principal, *audience.readable_fields)


async def _compile(analytics: Analytics, session: AsyncSession | _Lookups, principal: Principal,
                   request: RunRequest, scope: ReportScope,
                   ) -> tuple[TenantQuery, TenantQuery, _Plan, Audience, list[str]]:
    lookups = session if isinstance(session, _Lookups) else _Lookups(session)
    definition = request.definition
    measures, omitted = _policies(definition, principal)
    zone = _zone(request.time_zone)
    today = request.today or datetime.now(ZoneInfo(zone)).date()
    plan = _Plan(definition, principal, zone, today, measures, omitted)
    tenant = principal.tenant_id
    audience = (parse_object(f"view:{definition.view_id}", scope, request.view_filters) if definition.view_id
                else _segment_audience(definition.segment_id, scope, request.segment) if definition.segment_id
                else Audience(scope))
    require_readable_fields(principal, *audience.readable_fields)
    if definition.tags:
        tags = tuple(uuid.UUID(t) for t in definition.tags)
        list_filter = dict(audience.list_filter)
        list_filter["tag_id"] = ",".join(str(t) for t in (*audience.tag_ids, *tags))
        audience = dataclasses.replace(audience, tag_ids=(*audience.tag_ids, *tags), list_filter=list_filter)
    team_owners: dict[str, list[str]] = {}
    if "team" in {d.field for d in definition.dimensions} | {f.field for f in definition.filters}:
        owners, teams = await lookups.team_map()
        plan.params["team_owner_ids"], plan.params["team_ids"] = owners, teams
        for owner, team in zip(owners, teams, strict=True):
            team_owners.setdefault(team, []).append(owner)

    # The time range is a filter on its field.
    filters = list(enumerate(definition.filters))
    if definition.time_range.range != "all":
        tr = definition.time_range
        span = parse_range(tr.range, tr.start, tr.end, today, prefix="time_range.")
        bound = len(filters)
        time_field = field_info(tr.field)
        upper = "lt" if time_field is not None and time_field.kind == "datetime" else "lte"
        end = span.stop if upper == "lt" else span.end
        filters += [(bound, Filter(tr.field, "gte", (span.start.isoformat(),))),
                    (bound + 1, Filter(tr.field, upper, (end.isoformat(),)))]
    customer_level = [(i, f) for i, f in filters
                      if f.field not in _ORDER_COLUMNS and f.field not in RECORD_COLUMNS and f.field != "value_segment"]
    outer_level = [(i, f) for i, f in filters if (i, f) not in customer_level]

    narrowed = bool(scope.owners is not None or audience.tag_ids or audience.view_filters or customer_level
                    or audience.segment is not None)

    if definition.object == "customers":
        query = audience.customers(TenantQuery(CUSTOMERS, tenant, final=True))
        query = _apply_filters(plan, query, customer_level, outer=True, team_owners=team_owners)
        # The customers counted, for narrowing the per-customer joins (spend, status history).
        members = query.select("customer_id")
        query = _apply_filters(plan, query, outer_level, outer=True, team_owners=team_owners)
    else:
        members = audience.customers(TenantQuery(CUSTOMERS, tenant, final=True).select("customer_id"))
        members = _apply_filters(plan, members, customer_level, outer=False, team_owners=team_owners)
        # Orders: their latest versions keyed by day (orders/rollup.py), so a time range reads its days.
        orders = TenantQuery(RECORD_OBJECTS[definition.object].table if definition.object in RECORD_OBJECTS
                             else ORDERS_BY_DAY, tenant, final=True)
        # Without customer-level filters, the audience narrows the orders itself (for everyone: its
        # anti-join on the deleted customers); else the semi-join on `members`.
        query = (audience.by_customer(orders) if not customer_level
                 else orders.where_in("customer_id", members))
        query = _apply_filters(plan, query, outer_level, outer=True, team_owners=team_owners)

    plan.members = members
    plan.dims = [_dimension_sql(plan, spec, i) for i, spec in enumerate(definition.dimensions)]
    if any(f.field == "value_segment" for _, f in filters):
        plan.needs_segment = True
    measure_sql = [_measure_sql(plan, m, i) for i, m in enumerate(measures)]
    # What the cell count reads: the joins only when a row or column (or a filter) needs them.
    counting = query

    if plan.needs_customer_join:
        query = query.left_join("c", TenantQuery(CUSTOMERS, tenant, final=True).select(
            "customer_id", *(f"{column} AS c_{column}" for column in sorted(set(_CUSTOMER_COLUMNS.values()))),
            "custom AS c_custom"))
    if plan.needs_segment:
        rules = await lookups.value_rules()
        # Every customer in scope, in the report's currency, up to today (the value model's own rules).
        query = query.left_join("v", value_query(tenant, Audience(scope), rules, definition.currency, today))
    elif plan.needs_value and not plan.needs_annual:
        # Lifetime value and order count only: the per-customer spend (orders/rollup.py).
        lifetime = lifetime_by_customer(tenant, definition.currency, today)
        query = query.left_join("v", lifetime.where_in("customer_id", members) if narrowed else lifetime)
    elif plan.needs_value:
        spend = spend_by_orders(tenant, definition.currency, today)
        query = query.left_join("v", (spend.where_in("customer_id", members) if narrowed else spend)
                                .group_by("customer_id"))
    if plan.needs_tags:
        carried = (TenantQuery(CUSTOMER_TAGS, tenant, final=True).where("removed = 0")
                   .select("customer_id", "groupArray(toString(tag_id)) AS tag_ids"))
        query = query.left_join("t", (carried.where_in("customer_id", members) if narrowed else carried)
                                .group_by("customer_id"))
    if plan.needs_customer_join or plan.needs_segment or plan.needs_tags:
        counting = query
    if plan.conversions:
        history = TenantQuery(CUSTOMER_STATUS_CHANGES, tenant, final=True).select("customer_id")
        for position, measure in enumerate(plan.conversions):
            history = history.select(
                f"countIf(status = {{conv_from_{position}:String}}) > 0 AS entered_{position}",
                f"entered_{position} AND countIf(status = {{conv_to_{position}:String}}) > 0 AND "
                f"maxIf(changed_at, status = {{conv_to_{position}:String}}) >= "
                f"minIf(changed_at, status = {{conv_from_{position}:String}}) AS converted_{position}",
                **{f"conv_from_{position}": measure.from_status, f"conv_to_{position}": measure.to_status},
            )
        if narrowed:
            history = history.where_in("customer_id", members)
        query = query.left_join("s", history.group_by("customer_id"))
    return query, counting, plan, audience, measure_sql


def spend_by_orders(tenant: uuid.UUID, currency: str, today: date) -> TenantQuery:
    """Per customer (to group by `customer_id`): the value model's spend rule without its scores and
    prediction, read from every counted order up to today (the orders by day): 12-month spend,
    lifetime value and order count in the report's currency."""
    return (
        counted_orders_by_day(tenant)
        .where("currency = {currency:String}", currency=currency)
        .where("ordered_on <= {today:Date32}", today=today)
    ).select("customer_id", "sumIf(amount, ordered_on > {year_ago:Date32}) AS annual_spend",
             "sum(amount) AS lifetime_value", "count() AS orders", year_ago=add_months(today, -12))


def lifetime_by_customer(tenant: uuid.UUID, currency: str, today: date) -> TenantQuery:
    """Per customer: lifetime value and order count in the report's currency, as `spend_by_orders`
    gives them, from the per-customer spend (one row per customer and currency) instead of every
    order. That table counts orders dated after today too, which the spend rule leaves out: those
    (rare) are read back through the primary key of the orders by customer, for the customers whose
    last order is after today, and subtracted."""
    in_currency = {"currency": currency}
    # Without FINAL: a superset (an older row of a customer may still say so), made exact below.
    late_buyers = (TenantQuery(CUSTOMER_SPEND, tenant).where("currency = {currency:String}", **in_currency)
                   .where("last_ordered > {today:Date32}", today=today).select("customer_id"))
    later = (counted_orders_by_customer(tenant).where("currency = {currency:String}", **in_currency)
             .where("ordered_on > {today:Date32}", today=today).where_in("customer_id", late_buyers)
             .select("customer_id", "sum(amount) AS later_amount", "count() AS later_orders")
             .group_by("customer_id"))
    return (customer_spend(tenant).where("currency = {currency:String}", **in_currency).left_join("w", later)
            .select("customer_id", "amount - w.later_amount AS lifetime_value",
                    "order_count - w.later_orders AS orders"))


def _used_params(expressions: Sequence[str], params: dict[str, Any]) -> dict[str, Any]:
    text = " ".join(expressions)
    return {name: value for name, value in params.items() if f"{{{name}:" in text}


async def run(analytics: Analytics, session: AsyncSession, principal: Principal, request: RunRequest, *,
              scope: ReportScope | None = None, bounded: bool = False) -> PivotResult:
    """The definition computed under the principal's own data scope and field policies. `scope`:
    owners resolved beforehand (a share link's scope frozen at creation, crm_reporting/delivery).
    `bounded`: the queries run under the engine's bounded-memory settings (`BOUNDED_SETTINGS`), as
    an export's do (a slower pivot, the same result): on a million customers the per-customer spend
    join otherwise sets the export's peak memory."""
    if scope is None:
        scope = await report_scope(session, principal)
    base, counting, plan, audience, measure_sql = await _compile(analytics, session, principal, request, scope)
    definition = plan.definition
    rows_n = len(definition.rows)
    has_column = definition.column is not None
    dims = await _top_n(analytics, base, plan, measure_sql, bounded)

    # Refuse (never cut) a result over MAX_CELLS.
    if dims:
        row_part = f"uniqExact({', '.join(dims[:rows_n])})" if rows_n else "1"
        column_part = f"uniqExact({dims[-1]})" if has_column else "1"
        exprs = [f"{row_part} AS row_keys", f"{column_part} AS column_keys"]
        [sizes] = await analytics.query(counting.select(*exprs, **_used_params(exprs, plan.params)), bounded=bounded)
        cells = int(sizes["row_keys"]) * max(int(sizes["column_keys"]), 1) * len(measure_sql)
        if cells > MAX_CELLS:
            error = InvalidInput([FieldError(
                "rows", "too_many_cells",
                f"the report has {cells:,} cells; at most {MAX_CELLS:,}: add filters, use fewer or coarser "
                f"dimensions, or top N")], f"the report would have {cells:,} cells, more than {MAX_CELLS:,}")
            error.extra = {"cells": cells, "max_cells": MAX_CELLS}
            raise error

    names_ = [f"d{i}" for i in range(rows_n)] + (["c0"] if has_column else [])
    exprs = [*[f"{expr} AS {name}" for expr, name in zip(dims, names_, strict=True)],
             *[f"{m} AS m{i}" for i, m in enumerate(measure_sql)],
             *[f"grouping({name}) AS g_{name}" for name in names_]]
    query = base.select(*exprs, **_used_params(exprs, plan.params))
    if names_:
        query = query.group_by(_grouping_sets(rows_n, has_column))
    found = await analytics.query(query, bounded=bounded)
    names: dict[str, str] = {}
    for kind, lookup in (("customer", _customer_names), ("tag", _tag_names)):
        positions = [i for i, d in enumerate(definition.dimensions) if d.field == kind]
        if positions:
            ids = sorted({str(r[names_[i]]) for r in found for i in positions
                          if not int(r.get(f"g_{names_[i]}", 0))} - {OTHERS_KEY, ""})
            names |= await lookup(analytics, principal.tenant_id, ids)
    if any(d.field == "followed_by" for d in definition.dimensions):
        names |= await _user_names(session)
    names |= await _dictionary_labels(analytics, principal.tenant_id, definition.dimensions, request.locale)
    return _pivot(found, plan, audience, request, names)


async def _top_n(analytics: Analytics, base: TenantQuery, plan: _Plan, measure_sql: list[str],
                 bounded: bool = False) -> list[str]:
    """The dimensions' expressions, the first row dimension keeping its top N groups by the sort
    measure and the rest becoming "others" (OTHERS_KEY)."""
    definition = plan.definition
    dims = list(plan.dims)
    if definition.top_n and definition.rows:
        sort_index = min(definition.sort.measure, len(measure_sql) - 1)
        exprs = [f"{dims[0]} AS d0", f"{measure_sql[sort_index]} AS m0"]
        top_rows = await analytics.query(
            base.select(*exprs, **_used_params(exprs, plan.params)).group_by("d0")
            .order_by("m0 DESC" if definition.sort.direction == "desc" or definition.sort.by == "label" else
                      "m0 ASC", "d0 ASC").limit(definition.top_n), bounded=bounded)
        plan.params["top_keys"] = [str(r["d0"]) for r in top_rows]
        plan.params["others_key"] = OTHERS_KEY
        dims[0] = f"if(has({{top_keys:Array(String)}}, {dims[0]}), {dims[0]}, {{others_key:String}})"
    return dims


# -- click-throughs: the customers of one cell ---------------------------------------------------------

def report_token(request: RunRequest, zone: str, today: date) -> str:
    """What a cell's customers are computed from again (`cell_customers`): the definition, the saved
    view's filters, the time zone and the day it ran (so a relative time range means the same
    days). Not a credential: whoever sends it gets the cells computed under their own access, as
    running the definition would, so it needs no signature; it is checked like a definition."""
    data: dict[str, Any] = {"d": request.definition.as_json(), "v": dict(request.view_filters), "z": zone,
                            "t": today.isoformat()}
    if request.segment is not None:  # the definition's segment as the viewer read it for this run
        data["s"] = segment_json(request.segment)
    packed = zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def cell_token(keys: Sequence[str | None]) -> str:
    """One cell's keys (row keys, then the column key; None where rolled up)."""
    return base64.urlsafe_b64encode(json.dumps(list(keys), separators=(",", ":")).encode()).decode().rstrip("=")


def _unpack(token: str, field_name: str, *, packed: bool) -> Any:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        if packed:
            decompressor = zlib.decompressobj()
            raw = decompressor.decompress(raw, 256 * 1024)
            if decompressor.unconsumed_tail:
                raise ValueError("too large")
        return json.loads(raw)
    except (ValueError, zlib.error, UnicodeDecodeError):
        raise InvalidInput([FieldError(field_name, "invalid_token", "not a report cell of this platform")]) from None


async def cell_customers(analytics: Analytics, session: AsyncSession, principal: Principal, report: str,
                         cell: str, *, limit: int = MAX_CELL_CUSTOMERS) -> list[str]:
    """The ids of the customers behind one cell (`report` from the run's `cell_report`, `cell` from
    the cell's filter), computed again under the caller's own data scope and field policies:
    the same audience, filters and time range, top N with "others", every dimension's key
    (team, value segment, "others", an empty value, a tag included). An orders report's cell lists
    the customers of its orders. More than `limit` customers: 400 `too_many_customers`."""
    from crm_reporting.reports.definition import check_definition

    data = _unpack(report, "report", packed=True)
    keys = _unpack(cell, "report_cell", packed=False)
    if not isinstance(data, dict) or not isinstance(data.get("d"), dict):
        raise InvalidInput([FieldError("report", "invalid_token", "not a report of this platform")])
    try:
        definition = check_definition(data["d"])
        today = date.fromisoformat(str(data.get("t") or ""))
    except InvalidInput as exc:
        raise InvalidInput([FieldError(f"report.{e.field}", e.code, e.message) for e in exc.errors]) from None
    except ValueError:
        raise InvalidInput([FieldError("report", "invalid_token", "not a report of this platform")]) from None
    dimensions = definition.dimensions
    if (not isinstance(keys, list) or len(keys) != len(dimensions)
            or not all(k is None or isinstance(k, str) for k in keys)):
        raise InvalidInput([FieldError("report_cell", "invalid_token", "not a cell of this report")])
    views = data.get("v")
    if not isinstance(views, dict):
        views = {}
    try:
        segment = segment_from_json(data.get("s")) if data.get("s") is not None else None
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput([FieldError("report", "invalid_token", "not a report of this platform")]) from None
    request = RunRequest(definition, time_zone=str(data.get("z") or "UTC"), today=today,
                         view_filters={str(k): str(v) for k, v in views.items()}, segment=segment)
    scope = await report_scope(session, principal)
    base, _, plan, _, measure_sql = await _compile(analytics, session, principal, request, scope)
    dims = await _top_n(analytics, base, plan, measure_sql)
    query = base
    for index, (spec, key) in enumerate(zip(dimensions, keys, strict=True)):
        if key is None:
            continue
        if spec.field == "tag":  # carrying a tag of the group (a customer is in each of its tags' groups)
            condition = f"arrayExists(x -> {dims[index].replace(f'arrayJoin({TAG_VALUES})', 'x')} = " \
                        f"{{cell_{index}:String}}, {TAG_VALUES})"
        else:
            condition = f"{dims[index]} = {{cell_{index}:String}}"
        query = query.where(condition, **_used_params([condition], plan.params), **{f"cell_{index}": key})
    rows = await analytics.query(query.select("toString(customer_id) AS id").group_by("customer_id")
                                 .order_by("customer_id ASC").limit(limit + 1))
    if len(rows) > limit:
        error = InvalidInput([FieldError("report_cell", "too_many_customers",
                                         f"the cell has more than {limit:,} customers: narrow the report")])
        error.extra = {"max_customers": limit}
        raise error
    return [str(r["id"]) for r in rows]


async def _user_names(session: AsyncSession) -> dict[str, str]:
    """User id -> display name (else email), from reporting's `user_teams` (identity's user events):
    the reps of a follow-up records report."""
    rows = (await session.execute(sa.select(user_teams.c.user_id, user_teams.c.display_name, user_teams.c.email))).all()
    return {str(r.user_id): r.display_name or r.email for r in rows if r.display_name or r.email}


# Follow-up record dimensions whose values are codes of the tenant's dictionaries.
_DICTIONARY_FIELDS: Final = ("method", "result")


def _dictionary_key(field: str, code: str) -> str:
    return f"{field}:{code}"


async def _dictionary_labels(analytics: Analytics, tenant: uuid.UUID, dimensions: Sequence[DimensionSpec],
                             locale: str) -> dict[str, str]:
    """`method:<code>` / `result:<code>` -> the name in the viewer's language, as the latest record
    with that code carried it (`followup_records.method_zh` ...): the report shows 电话 or Phone, not
    `phone`. Codes no record named keep showing the code."""
    language = "zh" if locale_or_default(locale).lower().startswith("zh") else "en"
    found: dict[str, str] = {}
    for coded in sorted({d.field for d in dimensions} & set(_DICTIONARY_FIELDS)):
        rows = await analytics.query(
            TenantQuery(FOLLOWUP_RECORDS, tenant, final=True)
            .select(f"{coded} AS code", f"argMax({coded}_{language}, followed_at) AS name")
            .where(f"notEmpty({coded}_{language})").group_by(coded))
        found |= {_dictionary_key(coded, str(r["code"])): str(r["name"]) for r in rows if r["name"]}
    return found


async def _customer_names(analytics: Analytics, tenant: uuid.UUID, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(ids), 10_000):
        rows = await analytics.query(
            TenantQuery(CUSTOMERS, tenant, final=True)
            .where("has({page_ids:Array(String)}, toString(customer_id))", page_ids=ids[start:start + 10_000])
            .select("toString(customer_id) AS customer", "name"))
        found.update({str(r["customer"]): str(r["name"]) for r in rows})
    return found


async def _tag_names(analytics: Analytics, tenant: uuid.UUID, ids: list[str] | None) -> dict[str, str]:
    """Tag id -> its name as last applied or removed (`customer_tags.tag_name`); every tag's when
    `ids` is None."""
    query = TenantQuery(CUSTOMER_TAGS, tenant).select(
        "toString(tag_id) AS tag", "argMax(tag_name, change_seq) AS name").where("notEmpty(tag_name)")
    if ids is not None:
        if not ids:
            return {}
        query = query.where("has({tag_ids:Array(String)}, toString(tag_id))", tag_ids=ids)
    rows = await analytics.query(query.group_by("tag_id"))
    return {str(r["tag"]): str(r["name"]) for r in rows}


# -- the result ------------------------------------------------------------------------------------

def _measure_kind(measure: MeasureSpec) -> MeasureKind:
    if measure.agg in ("count", "distinct_customers"):
        return "count"
    if measure.agg in ("conversion", "csat"):
        return "percent"
    if measure.agg == "nps":
        return "number"
    info = field_info(measure.field)
    return "money" if info is not None and info.kind == "money" else "number"


def _value(raw: Any, kind: MeasureKind, agg: str) -> CellValue:
    if raw is None:
        return None
    if kind == "count":
        return int(raw)
    if kind == "percent":
        return Decimal(str(raw)).quantize(Decimal("0.0001"))
    number = Decimal(str(raw))
    if agg == "nps":
        return number.quantize(Decimal("0.1"))
    if kind == "money" or agg == "avg":
        return number.quantize(Decimal("0.01"))
    return int(number) if number == number.to_integral_value() else number


def _field_label(text: Messages, name: str) -> str:
    info = field_info(name)
    if info is None or name.startswith("cf."):
        return name.removeprefix("cf.")
    return text.text(info.label)


def dimension_label(text: Messages, spec: DimensionSpec) -> str:
    label = _field_label(text, spec.field)
    if spec.bucket:
        return text.text(_BUCKET_LABELS[spec.bucket], field=label)
    if spec.level:
        return text.gettext("%(field)s (level %(level)s)", field=label, level=spec.level)
    return label


def measure_label(text: Messages, measure: MeasureSpec, object_name: str) -> str:
    if measure.agg == "count":
        if object_name in RECORD_OBJECTS:
            return text.text(RECORD_OBJECTS[object_name].count)
        return text.gettext("Number of customers") if object_name == "customers" else text.gettext("Number of orders")
    if measure.agg == "csat":
        return text.gettext("CSAT (rated 4-5)")
    if measure.agg == "nps":
        return text.gettext("NPS")
    if measure.agg == "distinct_customers":
        return text.gettext("Distinct customers")
    if measure.agg == "conversion":
        return text.gettext("Conversion %(from)s → %(to)s", **{
            "from": text.text(_LABELS[measure.from_status]), "to": text.text(_LABELS[measure.to_status])})
    return text.text(_AGG_LABELS[measure.agg], field=_field_label(text, measure.field))


def _quarter(day: date) -> str:
    return f"{day.year} Q{(day.month - 1) // 3 + 1}"


def value_label(text: Messages, spec: DimensionSpec, key: str, names: dict[str, str] | None = None) -> str:
    if key == OTHERS_KEY:
        return text.gettext("Others")
    if spec.field in ("customer", "tag", "followed_by") and key:
        return (names or {}).get(key) or key
    if spec.field in _DICTIONARY_FIELDS and key:
        return (names or {}).get(_dictionary_key(spec.field, key)) or key
    if spec.field == "value_segment":
        return text.text(_SEGMENT_LABELS.get(key, _LABELS["none"]))
    if key == "":
        return text.gettext("(empty)")
    if spec.field == "rating" and key == "0":
        return text.gettext("Not rated")
    if spec.bucket:
        try:
            day = date.fromisoformat(key[:10])
        except ValueError:
            return key
        return {"day": day.isoformat(), "week": text.gettext("week of %(day)s", day=day.isoformat()),
                "month": day.strftime("%Y-%m"), "quarter": _quarter(day), "year": str(day.year)}[spec.bucket]
    if spec.field in ("status", "type", "order_status", "order_kind", "activity") and key in _LABELS:
        return text.text(_LABELS[key])
    return key


def _bucket_end(day: date, bucket: str) -> date:
    if bucket == "day":
        return day + timedelta(days=1)
    if bucket == "week":
        return day + timedelta(days=7)
    return add_months(day, {"month": 1, "quarter": 3, "year": 12}[bucket])


def _utc(day: date, zone: str) -> str:
    return datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_LIST_PARAMS: Final = {"industry": "industry", "status": "status", "type": "type", "source": "source",
                       "owner": "owner_id", "region": "region"}


def _base_filter(plan: _Plan, audience: Audience) -> dict[str, str] | None:
    """The definition's own conditions as `GET /v1/customers` parameters, or None when some
    condition has no list parameter (then no cell opens a list)."""
    definition = plan.definition
    if definition.object != "customers":
        return None
    found = dict(audience.list_filter)
    if "tag_id" in found and "," in found["tag_id"]:
        return None  # the list's tag_id takes one tag
    conditions = list(definition.filters)
    if definition.time_range.range != "all":
        tr = definition.time_range
        span = parse_range(tr.range, tr.start, tr.end, plan.today, prefix="time_range.")
        if tr.field == "created_at":
            conditions += [Filter("created_at", "gte", (span.start.isoformat(),)),
                           Filter("created_at", "lt", (span.stop.isoformat(),))]
        else:
            conditions += [Filter(tr.field, "gte", (span.start.isoformat(),)),
                           Filter(tr.field, "lte", (span.end.isoformat(),))]
    for spec in conditions:
        if spec.field in _LIST_PARAMS and (spec.op == "eq" or (spec.field == "region" and spec.op == "prefix")):
            name, value = _LIST_PARAMS[spec.field], spec.values[0]
        elif spec.field.startswith("cf.") and spec.op == "eq":
            name, value = spec.field, spec.values[0]
        elif spec.field == "created_at":
            name = "created_after" if spec.op == "gte" else "created_before"
            value = _utc(date.fromisoformat(spec.values[0]), plan.zone)
        elif spec.field == "first_contact_date" and spec.op in ("gte", "lte"):
            name = "first_contact_after" if spec.op == "gte" else "first_contact_before"
            value = spec.values[0]
        elif spec.field == "tag" and len(spec.values) == 1 and "tag_id" not in found:
            name, value = "tag_id", spec.values[0]
        else:
            return None
        if name in found and found[name] != value:
            return None
        found[name] = value
    return found


def _cell_filter(plan: _Plan, base: dict[str, str] | None,
                 keys: Sequence[str | None]) -> tuple[tuple[str, str], ...] | None:
    """The cell as `GET /v1/customers` parameters, or None when no list parameter expresses it."""
    if base is None:
        return None
    found = dict(base)
    for spec, key in zip(plan.definition.dimensions, keys, strict=True):
        if key is None:
            continue
        if key in ("", OTHERS_KEY):
            return None
        if spec.field in _LIST_PARAMS and not spec.bucket:
            name, value = _LIST_PARAMS[spec.field], key
        elif spec.field == "tag":  # the list's tag_id: carrying every tag named
            carried = [t for t in found.get("tag_id", "").split(",") if t]
            found["tag_id"] = ",".join(sorted({*carried, key}))
            continue
        elif spec.field.startswith("cf."):
            name, value = spec.field, key
        elif spec.field == "created_at":
            start = date.fromisoformat(key[:10])
            after, before = _utc(start, plan.zone), _utc(_bucket_end(start, spec.bucket), plan.zone)
            found["created_after"] = max(found.get("created_after", after), after)
            found["created_before"] = min(found.get("created_before", before), before)
            continue
        elif spec.field == "first_contact_date":
            start = date.fromisoformat(key[:10])
            after, before = start.isoformat(), (_bucket_end(start, spec.bucket) - timedelta(days=1)).isoformat()
            found["first_contact_after"] = max(found.get("first_contact_after", after), after)
            found["first_contact_before"] = min(found.get("first_contact_before", before), before)
            continue
        else:
            return None
        if name in found and found[name] != value:
            return None
        found[name] = value
    return tuple(sorted(found.items()))


def _pivot(found: list[Row], plan: _Plan, audience: Audience, request: RunRequest,
           names: dict[str, str]) -> PivotResult:
    definition = plan.definition
    text = messages(locale_or_default(request.locale))
    rows_n = len(definition.rows)
    column = definition.column
    kinds = [_measure_kind(m) for m in plan.measures]

    cells: dict[tuple[tuple[str | None, ...], str | None], tuple[CellValue, ...]] = {}
    for row in found:
        keys = tuple(None if int(row.get(f"g_d{i}", 0)) else str(row[f"d{i}"]) for i in range(rows_n))
        column_key = None if column is None or int(row.get("g_c0", 0)) else str(row["c0"])
        values = tuple(_value(row[f"m{i}"], kind, m.agg) for i, (kind, m) in enumerate(
            zip(kinds, plan.measures, strict=True)))
        cells[(keys, column_key)] = values

    # Order: each level's siblings by the sort measure of their subtotal (or by label); time buckets
    # chronologically; "others" last; subtotals after their members, the grand total last.
    sort = definition.sort
    sort_index = min(sort.measure, len(plan.measures) - 1)
    rank: dict[tuple[str | None, ...], int] = {}
    for level in range(rows_n):
        spec = definition.rows[level]
        siblings: dict[tuple[str | None, ...], list[str]] = {}
        for keys, _ in cells:
            if keys[level] is not None:
                siblings.setdefault(keys[:level], [])
                if keys[level] not in siblings[keys[:level]]:
                    siblings[keys[:level]].append(str(keys[level]))
        for parent, members in siblings.items():
            def order(key: str, parent: tuple[str | None, ...] = parent, spec: DimensionSpec = spec) -> tuple[Any, ...]:
                if spec.bucket or sort.by == "label":
                    return (key == OTHERS_KEY, key)
                total = cells.get(((*parent, key, *([None] * (rows_n - len(parent) - 1))), None), ())
                value = total[sort_index] if total else None
                number = float(value) if value is not None else float("-inf")
                return (key == OTHERS_KEY, -number if sort.direction == "desc" else number, key)
            ordered = sorted(members, key=order)
            if sort.by == "label" and sort.direction == "desc" and not spec.bucket:
                ordered = sorted([k for k in ordered if k != OTHERS_KEY], reverse=True) + (
                    [OTHERS_KEY] if OTHERS_KEY in ordered else [])
            for position, key in enumerate(ordered):
                rank[(*parent, key)] = position

    def row_order(keys: tuple[str | None, ...]) -> tuple[tuple[int, int], ...]:
        return tuple((1, 0) if keys[i] is None else (0, rank.get(keys[: i + 1], 0)) for i in range(rows_n))

    column_keys: list[str] = []
    if column is not None:
        present = sorted({c for _, c in cells if c is not None})
        if not column.bucket:
            def column_total(key: str) -> float:
                total = cells.get(((None,) * rows_n, key), ())
                value = total[sort_index] if total else None
                return float(value) if value is not None else float("-inf")
            present = sorted(present, key=lambda k: (k == OTHERS_KEY, -column_total(k), k))
        column_keys = present
    column_position = {key: i for i, key in enumerate(column_keys)}

    base_filter = _base_filter(plan, audience)
    ordered_cells = []
    for (keys, column_key), values in sorted(
            cells.items(), key=lambda item: (row_order(item[0][0]),
                                             len(column_keys) if item[0][1] is None else column_position[item[0][1]])):
        labels = tuple(None if k is None else value_label(text, definition.rows[i], k, names)
                       for i, k in enumerate(keys))
        column_label = (None if column_key is None or column is None
                        else value_label(text, column, column_key, names))
        cell_keys = (*keys, *((column_key,) if column is not None else ()))
        native = _cell_filter(plan, base_filter, cell_keys)
        ordered_cells.append(PivotCell(
            rows=labels, column=column_label, values=values, keys=keys, column_key=column_key,
            # No list parameter expresses the cell (team, value segment, "others", an empty value, a
            # filter the list lacks, an orders report): the list asks reporting for its customers.
            filter=native if native is not None else (("report_cell", cell_token(cell_keys)),),
        ))
    return PivotResult(
        title=request.title or text.gettext("Report"),
        rows=tuple(Dimension(d.key, dimension_label(text, d)) for d in definition.rows),
        column=Dimension(column.key, dimension_label(text, column)) if column else None,
        measures=tuple(Measure(m.key, measure_label(text, m, definition.object), kind,
                               definition.currency if kind == "money" else None)
                       for m, kind in zip(plan.measures, kinds, strict=True)),
        cells=tuple(ordered_cells),
        column_values=tuple(value_label(text, column, k, names) for k in column_keys) if column else (),
        column_keys=tuple(column_keys),
        filters=_filter_lines(text, plan, request),
        chart=definition.chart,  # type: ignore[arg-type]
        locale=text.locale,
        time_zone=plan.zone,
        generated_at=datetime.now(UTC),
        omitted_fields=tuple(plan.omitted),
        cell_report=report_token(request, plan.zone, plan.today),
    )


def _filter_lines(text: Messages, plan: _Plan, request: RunRequest) -> tuple[tuple[str, str], ...]:
    definition = plan.definition
    lines = [(text.gettext("Object"), text.gettext("Customers") if definition.object == "customers"
              else text.text(RECORD_OBJECTS[definition.object].label) if definition.object in RECORD_OBJECTS
              else text.gettext("Orders"))]
    if definition.time_range.range != "all":
        tr = definition.time_range
        span = parse_range(tr.range, tr.start, tr.end, plan.today, prefix="time_range.")
        lines.append((text.gettext("Time range"),
                      f"{_field_label(text, tr.field)}: {span.start.isoformat()} – {span.end.isoformat()}"))
    for spec in definition.filters:
        shown = ", ".join(text.text(_LABELS[v]) if v in _LABELS and spec.field != "tag" else v for v in spec.values)
        lines.append((_field_label(text, spec.field), f"{_OPERATOR_LABELS[spec.op]} {shown}".strip()))
    if definition.tags:
        lines.append((text.gettext("Tags"), ", ".join(definition.tags)))
    if definition.view_id:
        lines.append((text.gettext("Saved view"), definition.view_id))
    if definition.segment_id:
        lines.append((text.gettext("Saved segment"), definition.segment_id))
    if any(m.field in ("amount", "annual_spend", "lifetime_value") for m in plan.measures):
        lines.append((text.gettext("Currency"), definition.currency))
    if plan.omitted:
        omitted = ", ".join(_field_label(text, f) for f in plan.omitted)
        lines.append((text.gettext("Left out (field policies)"), omitted))
    return tuple(lines)


def locale_of(tag: str) -> Locale:
    return locale_or_default(tag)


# -- the underlying rows (the XLSX's Excel Table and PivotTable source) -------------------------------

_ROW_AGGREGATES: Final[dict[str, Aggregate]] = {"sum": "sum", "avg": "average", "min": "min", "max": "max"}
_LABELS_KEPT: Final = 10_000


async def underlying_rows(analytics: Analytics, session: AsyncSession, principal: Principal,
                          request: RunRequest, *, scope: ReportScope | None = None) -> UnderlyingRows:
    """The records the pivot counts, one row per customer (or order), under the same audience,
    filters, time range and field policies as `run`: the record's id, the customer's name (when the
    viewer may read it), each dimension's label and each measure's per-record figure (money and
    numbers; counts and conversions have none). One query, streamed as the renderer iterates, so a
    million rows are never held at once. A tag dimension gives one row per record
    and tag it carries (a record without tags: one row, "(empty)")."""
    rows, _ = await underlying_source(analytics, session, principal, request, scope=scope)
    return rows


async def underlying_source(analytics: Analytics, session: AsyncSession, principal: Principal,
                            request: RunRequest, *, scope: ReportScope | None = None
                            ) -> tuple[UnderlyingRows, PivotSource]:
    """`underlying_rows` and what the XLSX's native PivotTable over them groups and aggregates:
    the row and column dimensions' columns, a count of the records for `count` (and for
    `distinct_customers` on a customers report, where each record is a customer), and the
    per-record figure column with the measure's own aggregate for sum / average / min / max.
    Distinct customers of orders and conversion rates have no per-record figure: they stay on
    the report sheet."""
    if scope is None:
        scope = await report_scope(session, principal)
    query, _, plan, _, _ = await _compile(analytics, session, principal, request, scope)
    definition = plan.definition
    text = messages(locale_or_default(request.locale))
    key = f"toString({plan.record_key})"
    exprs = [f"{key} AS underlying_id"]
    headers = [text.gettext("Order") if definition.object == "orders"
               else text.text(RECORD_OBJECTS[definition.object].record) if definition.object in RECORD_OBJECTS
               else text.gettext("Customer")]
    with_name = definition.object == "customers" and not _hidden(principal, "name")
    if with_name:
        exprs.append("name AS record_name")
        headers.append(_field_label(text, "name"))
    exprs += [f"{expr} AS d{i}" for i, expr in enumerate(plan.dims)]
    headers += [dimension_label(text, d) for d in definition.dimensions]
    figures: list[MeasureSpec] = []
    for measure in plan.measures:
        if measure.field and measure.field not in {m.field for m in figures}:
            figures.append(measure)
    for i, measure in enumerate(figures):
        if measure.field in _VALUE_MEASURES:
            exprs.append(f"toString({_VALUE_MEASURES[measure.field]}) AS f{i}")
        elif measure.field == "amount":
            plan.params["currency"] = definition.currency
            exprs.append(f"toString(if(currency = {{currency:String}}, amount, 0)) AS f{i}")
        elif measure.field in RECORD_FIGURES:
            exprs.append(f"{RECORD_FIGURES[measure.field]} AS f{i}")
        else:
            column = _column(plan, measure.field, outer=True)
            exprs.append(f"toFloat64OrNull({_custom(plan, measure.field, column, f'row_cf_{i}')}) AS f{i}")
        headers.append(_field_label(text, measure.field))
    order = ("customer_id ASC", "underlying_id ASC", *(
        f"d{i}" for i, d in enumerate(definition.dimensions) if d.field == "tag"))
    # One query for every row, streamed as the writer reads it: the per-customer joins (spend, status
    # history, tags) are computed once per export, not once per page of rows.
    records = query.select(*exprs, **_used_params(exprs, plan.params)).order_by(*order)

    dims = definition.dimensions
    names = await _tag_names(analytics, principal.tenant_id, None) if plan.needs_tags else {}
    if any(d.field == "followed_by" for d in definition.dimensions):
        names |= await _user_names(session)
    names |= await _dictionary_labels(analytics, principal.tenant_id, definition.dimensions, request.locale)
    offset = 2 if with_name else 1
    # A dimension has few distinct values: each is labelled once (per export), not once per row; a
    # dimension of many (the customer) stops being remembered at `_LABELS_KEPT`, so memory stays flat.
    labels: list[dict[Any, str]] = [{} for _ in dims]

    def labelled(position: int, raw: Any) -> str:
        known = labels[position]
        found = known.get(raw)
        if found is None:
            found = value_label(text, dims[position], str(raw), names)
            if len(known) < _LABELS_KEPT:
                known[raw] = found
        return found

    def shaped(row: list[Any]) -> list[object]:
        values: list[object] = row[:offset]
        values += [labelled(i, raw) for i, raw in enumerate(row[offset:offset + len(dims)])]
        values += [None if raw is None else Decimal(str(raw)) for raw in row[offset + len(dims):]]
        return values

    values: list[tuple[int, Aggregate, str]] = []
    figure_position = {m.field: offset + len(dims) + i for i, m in enumerate(figures)}
    for measure in plan.measures:
        label = measure_label(text, measure, definition.object)
        if measure.agg == "count" or (measure.agg == "distinct_customers" and definition.object == "customers"):
            values.append((0, "count", label))
        elif measure.agg in _ROW_AGGREGATES and measure.field in figure_position:
            values.append((figure_position[measure.field], _ROW_AGGREGATES[measure.agg], label))
    rows_n = len(definition.rows)
    source = PivotSource(rows=tuple(offset + i for i in range(rows_n)),
                         column=offset + rows_n if definition.column is not None else None, values=tuple(values))
    streamed = _StreamedRows(analytics, records, shaped, asyncio.get_running_loop())
    return UnderlyingRows(columns=headers, rows=streamed), source


class _StreamedRows:
    """`UnderlyingRows.rows`: a plain iterable for a renderer that runs in a worker thread
    (`asyncio.to_thread`, as openpyxl and the PDF writer are synchronous): the records' one query is
    streamed from ClickHouse (`Analytics.stream`) as iteration reaches its rows, so neither the
    service nor the engine holds the million rows at once."""

    def __init__(self, analytics: Analytics, records: TenantQuery, shaped: Callable[[list[Any]], list[object]],
                 loop: asyncio.AbstractEventLoop) -> None:
        self._analytics, self._records, self._shaped, self._loop = analytics, records, shaped, loop

    def __iter__(self) -> Iterator[list[object]]:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            raise RuntimeError("iterate the underlying rows in a worker thread (asyncio.to_thread), not on the loop")
        shaped = self._shaped
        for row in self._analytics.stream(self._records):
            yield shaped(row)
