"""The tenant-safe query builder: the only way to read analytics tables.

Every query it builds starts its WHERE clause with `tenant_id = {tenant_id:UUID}`, bound to the
tenant the builder was created with; further conditions are ANDed after it, each inside its own
parentheses, so no condition can widen the result past that tenant. Values never enter the SQL
text: fragments refer to them as `{name:Type}` placeholders and the backend binds them.

Fragments (select expressions, conditions, orderings) are written by this service's code, never
taken from a request. They are still checked, so that a careless fragment cannot read another
table (no subqueries, joins, dictionaries), end the statement, or hide text in comments or
string literals.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from crm_reporting.analytics.tables import TENANT_COLUMN, TenantTable

TENANT_PARAM = "tenant_id"

# Letters, digits, operators, parentheses and `{name:Type}` placeholders; no quotes, backslashes,
# semicolons, `#`, `$` or `?`: a fragment cannot hold a literal string, heredoc or second statement.
_SAFE_FRAGMENT = re.compile(r"[A-Za-z0-9_\s.,()*+\-/%<>=!{}:]+\Z")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([A-Za-z0-9_(), ]+)\}")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words that would let a fragment read other rows or tables, or restructure the statement.
# (`IN` is among them because `x IN some_table` reads a table; `x IN {list:Array(T)}`, a bound list,
# is the one form allowed, see `_IN_LIST`.)
_FORBIDDEN_WORDS = frozenset({
    "select", "from", "join", "union", "intersect", "except", "with", "format", "settings", "into",
    "insert", "where", "prewhere", "having", "limit", "offset", "final", "sample", "array", "global",
    "in", "exists", "alter", "drop", "create", "system", "attach", "detach", "kill", "optimize",
    "rename", "truncate", "grant", "revoke", "show", "describe", "explain", "use", "set", "exchange",
    "input", "remote", "remotesecure", "cluster", "clustersecure", "merge", "file", "url", "s3", "table",
})
_FORBIDDEN_PREFIXES = ("dict", "joinget")
# `x [NOT] IN {list:Array(T)}`: membership in a bound array reads no table, and ClickHouse evaluates it
# with a hash set over the values (a LowCardinality column once per dictionary entry), where
# `has({list:Array(T)}, x)` compares row by row: ten times the CPU over millions of rows.
_IN_LIST = re.compile(r"\bIN\s+(?=\{[A-Za-z_][A-Za-z0-9_]*:Array\()", re.IGNORECASE)


class UnsafeFragment(ValueError):
    """A fragment handed to the builder could escape the tenant filter or the statement."""


@dataclass(frozen=True)
class BuiltQuery:
    sql: str
    params: dict[str, Any]


def _check_fragment(fragment: str) -> set[str]:
    """Validates one fragment and returns the placeholder names it uses."""
    if not fragment.strip() or not _SAFE_FRAGMENT.match(fragment) or "--" in fragment or "/*" in fragment:
        raise UnsafeFragment(f"fragment {fragment!r} has characters a query fragment may not use")
    depth = 0
    for char in fragment:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise UnsafeFragment(f"fragment {fragment!r} has unbalanced parentheses")
    names = {m.group(1) for m in _PLACEHOLDER.finditer(fragment)}
    without_placeholders = _PLACEHOLDER.sub(" ", _IN_LIST.sub(" ", fragment))
    if "{" in without_placeholders or "}" in without_placeholders:
        raise UnsafeFragment(f"fragment {fragment!r} has a malformed placeholder")
    for word in _WORD.findall(without_placeholders):
        lowered = word.lower()
        if lowered in _FORBIDDEN_WORDS or lowered.startswith(_FORBIDDEN_PREFIXES):
            raise UnsafeFragment(f"fragment {fragment!r} uses {word!r}, which a query fragment may not use")
    return names


@dataclass(frozen=True)
class TenantQuery:
    """An immutable SELECT over one tenant table, always restricted to one tenant, e.g.

        TenantQuery(CUSTOMERS, tenant, final=True).select("industry", "count() AS customers")
            .where("status = {status:String}", status="won").group_by("industry")
    """

    table: TenantTable
    tenant_id: uuid.UUID
    final: bool = False
    _select: tuple[str, ...] = ()
    _where: tuple[str, ...] = ()
    # `expression IN (subquery)` conditions: (expression, a query of the same tenant).
    _where_in: tuple[tuple[str, TenantQuery], ...] = ()
    # `NOT (expression IN (subquery))`: the same, excluded (a segment's "none of these tags", a value
    # range that includes customers without orders).
    _where_not_in: tuple[tuple[str, TenantQuery], ...] = ()
    _group_by: tuple[str, ...] = ()
    _having: tuple[str, ...] = ()
    _order_by: tuple[str, ...] = ()
    _limit: int | None = None
    _offset: int = 0
    # `SELECT <outer> FROM (<this query>)`: a second aggregation over this query's rows (medians
    # of per-customer durations, counts of per-customer groups). It reads only the inner rows.
    _outer: tuple[str, ...] = ()
    # `LEFT JOIN (<subquery>) AS <alias> USING (<column>)`: per-customer figures (spend, value segment,
    # status history) beside each row. Each subquery is a `TenantQuery` of the same tenant.
    _joins: tuple[tuple[str, str, TenantQuery], ...] = ()
    _params: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Only a parsed UUID is accepted: the tenant comes from a verified token or an event
        # envelope, never from text that could be empty or carry SQL.
        if not isinstance(self.tenant_id, uuid.UUID):
            raise TypeError("tenant_id must be a uuid.UUID")
        if not isinstance(self.table, TenantTable):
            raise TypeError("table must be a TenantTable")

    def _with(self, fragments: tuple[str, ...], params: dict[str, Any], **changes: Any) -> TenantQuery:
        used: set[str] = set()
        for fragment in fragments:
            used |= _check_fragment(fragment)
        if TENANT_PARAM in params:
            raise UnsafeFragment(f"parameter name {TENANT_PARAM!r} is reserved for the tenant filter")
        unused = set(params) - used
        if unused:
            raise ValueError(f"parameters {sorted(unused)} are not used by {fragments}")
        merged = self._merged_params(params)
        missing = used - set(merged) - {TENANT_PARAM}
        if missing:
            raise ValueError(f"placeholders {sorted(missing)} have no value")
        return dataclasses.replace(self, _params=merged, **changes)

    def select(self, *expressions: str, **params: Any) -> TenantQuery:
        return self._with(expressions, params, _select=self._select + expressions)

    def where(self, condition: str, **params: Any) -> TenantQuery:
        return self._with((condition,), params, _where=(*self._where, condition))

    def where_in(self, expression: str, subquery: TenantQuery) -> TenantQuery:
        """`expression IN (subquery)`: a semi-join on another of this tenant's tables (the orders of
        the customers a caller may see). The subquery is itself a `TenantQuery` of the same tenant,
        so it carries its own tenant filter; it selects one expression, and a parameter name both
        queries use must hold the same value."""
        if not isinstance(subquery, TenantQuery):
            raise TypeError("the subquery must be a TenantQuery")
        if subquery.tenant_id != self.tenant_id:
            raise UnsafeFragment("a subquery must read the same tenant")
        if len(subquery._select) != 1 or subquery._outer:
            raise ValueError("an IN subquery selects exactly one expression")
        sub_params = subquery.build().params
        sub_params.pop(TENANT_PARAM)
        checked = self._with((expression,), {}, _where_in=(*self._where_in, (expression, subquery)))
        return dataclasses.replace(checked, _params=checked._merged_params(sub_params))

    def where_not_in(self, expression: str, subquery: TenantQuery) -> TenantQuery:
        """`NOT (expression IN (subquery))`, checked as `where_in`: the rows whose expression the
        subquery (same tenant, one expression) does not return."""
        included = self.where_in(expression, subquery)
        return dataclasses.replace(included, _where_in=self._where_in,
                                   _where_not_in=(*self._where_not_in, (expression, subquery)))

    def left_join(self, alias: str, subquery: TenantQuery, using: str = "customer_id") -> TenantQuery:
        """`LEFT JOIN (subquery) AS alias USING (using)`: the report builder's per-customer figures
        (orders' spend, value segment, status history) beside each customer or order. The subquery
        is a `TenantQuery` of the same tenant (its own tenant filter), `using` a column of this
        table, and the alias a plain name; rows without a match read the columns' defaults. The
        tenant filter of this query is then written `<table>.tenant_id`, so no joined column can
        stand in for it."""
        if not isinstance(subquery, TenantQuery):
            raise TypeError("the joined query must be a TenantQuery")
        if subquery.tenant_id != self.tenant_id:
            raise UnsafeFragment("a joined query must read the same tenant")
        taken = {a for a, _, _ in self._joins}
        if not _IDENTIFIER.match(alias) or alias.lower() in _FORBIDDEN_WORDS or alias in taken:
            raise UnsafeFragment(f"join alias {alias!r} is not a fresh plain name")
        if using not in self.table.column_names or using == TENANT_COLUMN:
            raise UnsafeFragment(f"{using!r} is not a column of {self.table.name} to join on")
        sub_params = subquery.build().params
        sub_params.pop(TENANT_PARAM)
        return dataclasses.replace(self, _joins=(*self._joins, (alias, using, subquery)),
                                   _params=self._merged_params(sub_params))

    def _merged_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """One value per placeholder name: a name reused with another value would silently change
        an earlier condition (or a subquery's), so it is refused."""
        for name, value in params.items():
            if name in self._params and self._params[name] != value:
                raise ValueError(f"parameter {name!r} already has a different value")
        return {**self._params, **params}

    def group_by(self, *expressions: str) -> TenantQuery:
        return self._with(expressions, {}, _group_by=self._group_by + expressions)

    def having(self, condition: str, **params: Any) -> TenantQuery:
        return self._with((condition,), params, _having=(*self._having, condition))

    def order_by(self, *expressions: str) -> TenantQuery:
        return self._with(expressions, {}, _order_by=self._order_by + expressions)

    def outer(self, *expressions: str) -> TenantQuery:
        """Aggregates this query's result rows once more: `SELECT <expressions> FROM (<query>)`.
        The inner query keeps its tenant filter; the outer expressions are checked fragments."""
        if self._outer:
            raise ValueError("a query has one outer aggregation")
        return self._with(expressions, {}, _outer=expressions)

    def limit(self, rows: int, offset: int = 0) -> TenantQuery:
        for value in (rows, offset):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError("limit and offset must be non-negative integers")
        return dataclasses.replace(self, _limit=rows, _offset=offset)

    def build(self) -> BuiltQuery:
        if not self._select:
            raise ValueError("a query needs at least one select expression")
        tenant_column = f"{self.table.name}.{TENANT_COLUMN}" if self._joins else TENANT_COLUMN
        conditions = [f"{tenant_column} = {{{TENANT_PARAM}:UUID}}", *(f"({c})" for c in self._where)]
        conditions += [f"({expression} IN ({subquery.build().sql}))" for expression, subquery in self._where_in]
        conditions += [f"(NOT ({expression} IN ({subquery.build().sql})))"
                       for expression, subquery in self._where_not_in]
        parts = [
            f"SELECT {', '.join(self._select)}",
            f"FROM {self.table.name}" + (" FINAL" if self.final else "") + "".join(
                f"\nLEFT JOIN ({subquery.build().sql}) AS {alias} USING ({using})"
                for alias, using, subquery in self._joins),
            "WHERE " + " AND ".join(conditions),
        ]
        if self._group_by:
            parts.append(f"GROUP BY {', '.join(self._group_by)}")
        if self._having:
            parts.append("HAVING " + " AND ".join(f"({c})" for c in self._having))
        if self._order_by:
            parts.append(f"ORDER BY {', '.join(self._order_by)}")
        if self._limit is not None:
            parts.append(f"LIMIT {self._limit}" + (f" OFFSET {self._offset}" if self._offset else ""))
        sql = "\n".join(parts)
        if self._outer:
            sql = f"SELECT {', '.join(self._outer)}\nFROM (\n{sql}\n)"
        return BuiltQuery(sql=sql, params={**self._params, TENANT_PARAM: self.tenant_id})


@dataclass(frozen=True)
class TenantDelete:
    """Deletes one tenant's rows from one table, and nothing else: the statement's first condition
    is the tenant filter, bound like the builder's. Without `where` every row of the tenant goes
    (offboarding); `where` narrows it with checked fragments ANDed after the tenant filter, as the
    builder does (customer erasure). Synchronous (`mutations_sync = 2`), so the rows are gone on
    every replica when it returns."""

    table: TenantTable
    tenant_id: uuid.UUID
    _where: tuple[str, ...] = ()
    _params: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tenant_id, uuid.UUID):
            raise TypeError("tenant_id must be a uuid.UUID")
        if not isinstance(self.table, TenantTable):
            raise TypeError("table must be a TenantTable")

    def where(self, condition: str, **params: Any) -> TenantDelete:
        used = _check_fragment(condition)
        if TENANT_PARAM in params:
            raise UnsafeFragment(f"parameter name {TENANT_PARAM!r} is reserved for the tenant filter")
        if set(params) != used - {TENANT_PARAM}:
            raise ValueError(f"parameters {sorted(params)} do not match the placeholders of {condition!r}")
        return dataclasses.replace(self, _where=(*self._where, condition), _params={**self._params, **params})

    def build(self) -> BuiltQuery:
        conditions = [f"{TENANT_COLUMN} = {{{TENANT_PARAM}:UUID}}", *(f"({c})" for c in self._where)]
        return BuiltQuery(
            sql=f"ALTER TABLE {self.table.name} DELETE WHERE {' AND '.join(conditions)} SETTINGS mutations_sync = 2",
            params={**self._params, TENANT_PARAM: self.tenant_id},
        )
