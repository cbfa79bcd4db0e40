"""Every SQL statement about customers and their status history."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer import access
from crm_customers.customer import facts as customer_facts
from crm_customers.customer.tables import customers, status_history
from crm_customers.duplicates.check import MATCH_KEY_COLUMNS
from crm_customers.duplicates.check import refresh_keys as refresh_match_keys
from crm_customers.duplicates.keys import email_key, keys_of
from crm_customers.duplicates.repository import key_writes
from crm_customers.duplicates.tables import match_keys
from crm_customers.metrics import repository as metrics_repository
from crm_customers.orders.repository import spend_column
from crm_customers.owners.repository import name_column
from crm_customers.search.pinyin import name_columns, pinyin_query
from crm_customers.tags import repository as tag_projection
from crm_customers.value_segments import column as value_segment_column
from crm_platform.auth import Principal
from crm_platform.db import DriverStatement
from crm_platform.errors import Conflict
from crm_platform.ids import new_id

# What every customer reply shows besides the record (customer/servicer.py `_out`): spend from
# orders and the names of the owner and of who created and last changed it, as columns of the
# statement that reads the customer (built once: constructing them costs more than running them).
REPLY_SPEND: Final = "reply_spend"
REPLY_NAMES: Final = {"owner_id": "reply_owner_name", "created_by": "reply_created_by_name",
                      "updated_by": "reply_updated_by_name"}
REPLY_COLUMNS: Final = (
    spend_column(customers.c.id).label(REPLY_SPEND),
    *(name_column(customers.c[field]).label(label) for field, label in REPLY_NAMES.items()),
)
# The same columns in the RETURNING of an INSERT or UPDATE of customers: SQLAlchemy does not
# correlate a subquery there (it would add `customers` to the subquery's FROM and read every
# customer), so the written row is named as PostgreSQL sees it, by the target table's name.
_WRITTEN: Final = {name: cast(sa.Column[Any], sa.literal_column(f"customers.{name}", type_=customers.c[name].type))
                   for name in ("id", *REPLY_NAMES)}
RETURNED_REPLY_COLUMNS: Final = (
    spend_column(_WRITTEN["id"]).label(REPLY_SPEND),
    *(name_column(_WRITTEN[field]).label(label) for field, label in REPLY_NAMES.items()),
)
_REPLY_BY_IDS: Final = sa.select(customers, *REPLY_COLUMNS).where(
    customers.c.id == sa.any_(sa.bindparam("ids", type_=pg.ARRAY(pg.UUID(as_uuid=True))))
)


async def with_reply(session: AsyncSession, ids: list[uuid.UUID]) -> list[sa.Row[Any]]:
    """These customers again, with the reply columns (after a write), in the order of `ids`."""
    rows = {r.id: r for r in await session.execute(_REPLY_BY_IDS, {"ids": ids})}
    return [rows[i] for i in ids if i in rows]


def _with_search_keys(values: dict[str, Any]) -> dict[str, Any]:
    """Every write of `name` also writes its pinyin search keys (crm_customers/search)."""
    if isinstance(values.get("name"), str):
        return {**values, **name_columns(values["name"])}
    return values


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any] | None:
    """The new customer with its reply columns, or None when its code is taken (nothing written
    but its match keys, which the caller's next try or rollback settles: codes.py). One statement:
    the row, its match keys (from the values written; no trigger changes a key column) as CTEs, and
    the reply columns in RETURNING (a create was three round trips: docs/benchmarks.md)."""
    values = _with_search_keys(values)
    statement = (pg.insert(customers).values(**values).on_conflict_do_nothing(index_elements=["code"])
                 .returning(customers, *RETURNED_REPLY_COLUMNS))
    # Duplicate detection's keys follow every write (duplicates/check.py `refresh_keys`).
    keys = key_writes(values["id"], keys_of(values), replace=False)
    statement = statement.add_cte(*(k.cte(f"key_write_{n}") for n, k in enumerate(keys)))
    return (await session.execute(statement)).first()


async def existing_codes(session: AsyncSession, codes: list[str]) -> set[str]:
    """Which of these codes customers already have (deleted ones included)."""
    rows = await session.execute(sa.select(customers.c.code).where(customers.c.code.in_(codes)))
    return set(rows.scalars())


async def get(
    session: AsyncSession, customer_id: uuid.UUID, scope: sa.ColumnElement[bool] | None = None, *,
    reply: bool = False,
) -> sa.Row[Any] | None:
    """`scope`: the caller's data scope (customer/access.py); outside it the customer is not found.
    `reply`: with the reply columns (a read for a reply is then one statement)."""
    query = _GET_WITH_REPLY if reply else _GET
    if scope is not None:
        query = query.where(scope)
    return (await session.execute(query, {"customer_id": customer_id})).first()


# Built once: SQLAlchemy keeps a statement's cache key, so a read by id (without a data scope, as
# for API clients) skips building the statement and walking it for its key (docs/benchmarks.md).
_GET: Final = sa.select(customers).where(customers.c.id == sa.bindparam("customer_id"))
_GET_WITH_REPLY: Final = sa.select(customers, *REPLY_COLUMNS).where(customers.c.id == sa.bindparam("customer_id"))
# The read for a reply (GetCustomer) per data scope shape (customer/access.py), run on the driver. A read by
# primary key: its plan never depends on the values, so PostgreSQL plans it once per connection (generic_plan).
_READ_FOR_REPLY: Final[dict[access.ScopeShape | None, DriverStatement]] = {
    None: DriverStatement(_GET_WITH_REPLY, required=["customer_id"], generic_plan=True),
    **{shape: DriverStatement(_GET_WITH_REPLY.where(access.scope_condition(shape)),
                              required=["customer_id", "scope_user", "scope_teams"], generic_plan=True)
       for shape in ((True, False), (True, True), (False, False), (False, True))},
}


async def read_for_reply(session: AsyncSession, customer_id: uuid.UUID, caller: Principal | None) -> Any | None:
    """`get(..., scope_clause(caller), reply=True)` as one prepared statement on the driver: the
    same row (a named tuple of the same columns), or None outside the caller's data scope."""
    rule = access.scope_rule(caller) if caller is not None else None
    if rule is None:
        rows = await _READ_FOR_REPLY[None].rows(session, {"customer_id": customer_id})
    else:
        shape, values = rule
        rows = await _READ_FOR_REPLY[shape].rows(session, {"customer_id": customer_id, **values})
    return rows[0] if rows else None


async def update_if_version(
    session: AsyncSession, customer_id: uuid.UUID, expected_version: int, values: dict[str, Any], *,
    reply: bool = False,
) -> sa.Row[Any] | None:
    """Updates only if the stored version is the expected one (optimistic concurrency). `reply`:
    the row comes back with the reply columns (a write answered with the customer reads it once)."""
    values = _with_search_keys(values)
    statement = (
        sa.update(customers)
        .where(customers.c.id == customer_id, customers.c.version == expected_version)
        .values(**values, version=customers.c.version + 1, updated_at=sa.func.now())
        .returning(customers, *(RETURNED_REPLY_COLUMNS if reply else ()))
    )
    if "code" not in values:
        row = (await session.execute(statement)).first()
    else:  # a taken code is a conflict, and the transaction must survive it
        try:
            async with session.begin_nested():
                row = (await session.execute(statement)).first()
        except IntegrityError:
            raise Conflict("a customer with this code exists", code="code_taken", extra={"field": "code"}) from None
    if row is not None and MATCH_KEY_COLUMNS & values.keys():
        await refresh_match_keys(session, row)  # duplicate detection's keys follow every write
    return row


async def add_status_change(
    session: AsyncSession, customer_id: uuid.UUID, from_status: str, to_status: str, reason: str, actor: str
) -> None:
    await session.execute(status_change_insert(customer_id, from_status, to_status, reason, actor))


def status_change_insert(
    customer_id: uuid.UUID, from_status: str, to_status: str, reason: str, actor: str
) -> sa.Insert:
    return sa.insert(status_history).values(
        id=new_id(), customer_id=customer_id, from_status=from_status, to_status=to_status, reason=reason,
        changed_by=actor,
    )


async def status_changes(session: AsyncSession, customer_id: uuid.UUID, limit: int = 500) -> list[sa.Row[Any]]:
    query = (
        sa.select(status_history)
        .where(status_history.c.customer_id == customer_id)
        .order_by(status_history.c.changed_at.desc(), status_history.c.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).all())


# order_by value -> (column, descending)
# Sort keys are columns that are never NULL (the page token compares (value, id) tuples); each has
# an index on (column, id) (migrations c0001, c0002, c0060).
SORT_COLUMNS: Final = ("created_at", "updated_at", "name", "code", "status", "industry", "region")
ORDERINGS: Final[dict[str, tuple[sa.Column[Any], bool]]] = {
    f"{name} {direction}": (customers.c[name], direction == "desc")
    for name in SORT_COLUMNS
    for direction in ("desc", "asc")
}


@dataclass
class ListFilter:
    industry: str = ""
    status: str = ""
    q: str = ""
    owner_id: uuid.UUID | None = None
    region: str = ""
    source: str = ""
    type: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None
    first_contact_after: date | None = None
    first_contact_before: date | None = None
    show_deleted: bool = False
    # JSON containment documents, one per `cf.<key>` filter.
    custom: list[dict[str, Any]] = field(default_factory=list)
    # Sensitive field -> blind index to match exactly.
    blind_indexes: dict[str, str] = field(default_factory=dict)
    # Only these customers (selected rows).
    ids: list[uuid.UUID] = field(default_factory=list)
    # The caller's data scope (customer/access.py scope_clause); None = every customer.
    scope: sa.ColumnElement[bool] | None = None
    # When `scope` is the list's (access.list_scope_clause): the owners it was made from.
    scope_owners: list[uuid.UUID] | None = None
    # Fields hidden from the caller: `q` does not match on them.
    hidden: frozenset[str] = frozenset()
    # The caller sees only their own customers (data scope `own`): few rows, found by owner.
    own_only: bool = False
    # Tags (customers' projection, crm_customers/tags) the customer must all carry.
    tag_ids: list[uuid.UUID] = field(default_factory=list)
    # Of those, the ones on many customers (tags/repository.py common_tags): checked in the row.
    common_tag_ids: frozenset[uuid.UUID] = frozenset()
    # Column -> the value to match exactly, already as stored (cleaning.py): code, contact_person,
    # mobile, phone, credit_code, annual_revenue_currency.
    equals: dict[str, str] = field(default_factory=dict)
    # A cleaned email, matched case-insensitively.
    email: str = ""
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    # The day acquired (ACQUIRED_ON), inclusive.
    acquired_after: date | None = None
    acquired_before: date | None = None
    # Column (employees, annual_revenue) -> inclusive (lowest, highest); None = unbounded.
    ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    # Custom field key (number or date) -> inclusive (lowest, highest) as JSON values.
    custom_ranges: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    # A segment's parts (crm_customers/segments): the customer carries at least one of `tags_any`
    # and none of `tags_none`; value metrics as inclusive (lowest, highest), None = unbounded.
    tags_any: list[uuid.UUID] = field(default_factory=list)
    tags_none: list[uuid.UUID] = field(default_factory=list)
    spend_12m: tuple[Decimal | None, Decimal | None, str] | None = None
    orders_30d: tuple[int | None, int | None] | None = None
    # Reporting's value segment of the customer is one of these (crm_customers/value_segments).
    value_segments: list[str] = field(default_factory=list)
    # A saved segment's own filter (checked like a list's), ANDed with this one.
    segment: ListFilter | None = None


# Generated column (migration c0008) with a pg_trgm GIN index: every text `q` can match. Not in
# the Table, so no INSERT ever names it.
SEARCH_TEXT: Final = sa.literal_column("customers.search_text", sa.Text)
MIN_TRIGRAM_QUERY: Final = 3
# Generated column (migration c0012) with a GIN index: the two-character pairs and single non-ASCII
# characters of these fields. A `q` shorter than a trigram searches only them (two digits of a phone
# or two letters of an email match nearly everyone).
SHORT_SEARCH_GRAMS: Final = sa.literal_column("customers.short_search_grams", pg.ARRAY(sa.Text))


# The day a customer was acquired: its first contact, else the day it was created (UTC), as
# reporting's `first_contact_on` holds it (new customers on dashboards, funnel cohorts).
ACQUIRED_ON: Final = sa.func.coalesce(customers.c.first_contact_date,
                                      sa.cast(sa.func.timezone("UTC", customers.c.created_at), sa.Date))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(query: sa.Select[Any], f: ListFilter) -> sa.Select[Any]:
    c = customers.c
    if f.scope is not None:
        query = query.where(f.scope)
    if not f.show_deleted:
        query = query.where(c.deleted_at.is_(None))
    for column, value in ((c.industry, f.industry), (c.status, f.status), (c.source, f.source), (c.type, f.type)):
        if value:
            query = query.where(column == value)
    if f.owner_id is not None:
        query = query.where(c.owner_id == f.owner_id)
    if f.ids:
        query = query.where(c.id.in_(f.ids))
    if f.region:
        query = query.where(sa.or_(c.region == f.region, c.region.like(_like(f.region) + "/%")))
    if f.created_after is not None:
        query = query.where(c.created_at >= f.created_after)
    if f.created_before is not None:
        query = query.where(c.created_at < f.created_before)
    if f.first_contact_after is not None:
        query = query.where(c.first_contact_date >= f.first_contact_after)
    if f.first_contact_before is not None:
        query = query.where(c.first_contact_date <= f.first_contact_before)
    for name, index in sorted(f.blind_indexes.items()):
        query = query.where(customers.c[f"{name}_bidx"] == index)
    for document in f.custom:
        query = query.where(c.custom_fields.contains(document))
    if f.tag_ids:
        query = query.where(tag_projection.carries_every(f.tag_ids, f.common_tag_ids))
    query = _where_added(query, f)
    query = _where_segment(query, f)
    if f.q:
        query = query.where(_search(f))
    if f.segment is not None:
        query = _where(query, f.segment)
    return query


def _where_segment(query: sa.Select[Any], f: ListFilter) -> sa.Select[Any]:
    if f.tags_any:
        query = query.where(tag_projection.TAG_IDS.overlap(sa.literal(sorted(f.tags_any), tag_projection.UUIDS)))
    if f.tags_none:
        query = query.where(sa.not_(sa.func.coalesce(tag_projection.TAG_IDS, sa.literal([], tag_projection.UUIDS))
                                    .overlap(sa.literal(sorted(f.tags_none), tag_projection.UUIDS))))
    if f.value_segments:
        query = query.where(value_segment_column.in_segments(f.value_segments))
    # Value metrics from their projection (crm_customers/metrics): an index range each.
    condition = metrics_repository.per_customer if f.own_only else metrics_repository.in_range
    if f.spend_12m is not None:
        lowest, highest, currency = f.spend_12m
        query = query.where(condition(customers.c.id, "spend_12m", lowest, highest, currency))
    if f.orders_30d is not None:
        query = query.where(condition(customers.c.id, "orders_30d", f.orders_30d[0], f.orders_30d[1]))
    return query


def _with_match_key(kind: str, value: str) -> sa.ColumnElement[bool]:
    """Customers holding this duplicate-detection key (c0005's `(kind, value)` index): how an exact
    phone or email filter finds its few rows without an index of its own on the column."""
    return customers.c.id.in_(
        sa.select(match_keys.c.customer_id).where(match_keys.c.kind == kind, match_keys.c.value == value)
    )


def _text_prefilter(value: str) -> sa.ColumnElement[bool] | None:
    """An index condition implied by "contact_person = value": the trigram index holds every
    contact person (`search_text`), the short-query grams their pairs and non-ASCII characters."""
    if len(value) >= MIN_TRIGRAM_QUERY:
        return SEARCH_TEXT.ilike("%" + _like(value) + "%")
    if value and not any(ch.isspace() for ch in value) and (len(value) == 2 or not value.isascii()):
        return SHORT_SEARCH_GRAMS.contains(pg.array([sa.func.lower(sa.literal(value, sa.Text))]))
    return None


def _between(lowest: Any, highest: Any, column: Any) -> list[sa.ColumnElement[bool]]:
    return [*([column >= lowest] if lowest is not None else []), *([column <= highest] if highest is not None else [])]


def _custom_range(key: str, lowest: Any, highest: Any) -> sa.ColumnElement[bool]:
    """A number or date custom field within bounds, by jsonpath over the stored JSONB (a value of
    another JSON type never matches and never fails a cast). Keys are `^[a-z][a-z0-9_]*$`."""
    tests = [*(["@ >= $lowest"] if lowest is not None else []), *(["@ <= $highest"] if highest is not None else [])]
    path = f'$."{key}" ? ({" && ".join(tests)})'
    variables = {"lowest": lowest, "highest": highest}
    return sa.func.jsonb_path_exists(customers.c.custom_fields, sa.cast(sa.literal(path), pg.JSONPATH),
                                     sa.literal(variables, pg.JSONB))


def _where_added(query: sa.Select[Any], f: ListFilter) -> sa.Select[Any]:
    """The exact and range filters on the remaining standard fields (docs/customers.md, "List
    filters")."""
    c = customers.c
    for name, value in sorted(f.equals.items()):
        query = query.where(c[name] == value)
        if name in ("mobile", "phone"):  # mobile and phone are both `phone` keys (E.164)
            query = query.where(_with_match_key("phone", value))
        elif name == "contact_person" and (prefilter := _text_prefilter(value)) is not None:
            query = query.where(prefilter)
    if f.email:
        key = email_key(f.email)
        query = query.where(sa.func.lower(c.email) == key, _with_match_key("email", key))
    query = query.where(*_between(f.updated_after, None, c.updated_at))
    if f.updated_before is not None:
        query = query.where(c.updated_at < f.updated_before)
    query = query.where(*_between(f.acquired_after, f.acquired_before, ACQUIRED_ON))
    for name, (lowest, highest) in sorted(f.ranges.items()):
        query = query.where(*_between(lowest, highest, c[name]))
    for key, (lowest, highest) in sorted(f.custom_ranges.items()):
        query = query.where(_custom_range(key, lowest, highest))
    return query


def _search(f: ListFilter) -> sa.ColumnElement[bool]:
    """`q` as a condition: one per-field match per field the caller may see, behind an index
    prefilter the planner can size (trigrams from 3 characters, the short-query grams below)."""
    c = customers.c
    pattern = "%" + _like(f.q) + "%"
    spelled = pinyin_query(f.q)
    pinyin_pattern = "%" + _like(spelled) + "%"
    if len(f.q) < MIN_TRIGRAM_QUERY:
        return _short_search(f, pattern, spelled)
    matches: dict[str, sa.ColumnElement[bool]] = {
        "name": c.name.ilike(pattern),
        "code": c.code.ilike(pattern),
        "mobile": c.mobile.like(pattern),
        "phone": c.phone.like(pattern),
        "email": c.email.ilike(pattern),
        "contact_person": c.contact_person.ilike(pattern),
        "credit_code": c.credit_code == f.q.upper(),
    }
    if spelled:  # "bjkj", "beijing", "Bei Jing" -> the name's pinyin keys
        matches["name"] = sa.or_(matches["name"], c.name_pinyin.like(pinyin_pattern),
                                 c.name_initials.like(pinyin_pattern))
    condition = sa.or_(sa.false(), *(m for name, m in matches.items() if name not in f.hidden))
    # The trigram index narrows the rows (it holds every field above); the per-field test then
    # leaves out fields hidden from the caller. Not for one owner's customers (the owner index
    # finds those faster).
    if f.own_only or f.owner_id is not None:
        return condition
    prefilter: sa.ColumnElement[bool] = SEARCH_TEXT.ilike(pattern)
    if spelled and spelled != f.q.lower():
        prefilter = sa.or_(prefilter, SEARCH_TEXT.ilike(pinyin_pattern))
    return sa.and_(prefilter, condition)


def _short_search(f: ListFilter, pattern: str, spelled: str) -> sa.ColumnElement[bool]:
    """A `q` of one or two characters: the name, the contact person and the pinyin initials. When
    the caller sees all three and `q` has a gram, "the grams contain q" is exactly that match (the
    grams are those fields' pairs, lower-cased as ILIKE compares), so it is the whole condition and
    the planner sizes it from the column's element statistics; adding the per-field tests would
    multiply two estimates of the same thing and mislead it."""
    c = customers.c
    by_field: dict[str, sa.ColumnElement[bool]] = {
        "name": c.name.ilike(pattern), "contact_person": c.contact_person.ilike(pattern),
    }
    if spelled:  # "bj" -> 北京 by its initials
        by_field["name"] = sa.or_(by_field["name"], c.name_initials.like("%" + _like(spelled) + "%"))
    visible = [condition for name, condition in by_field.items() if name not in f.hidden]
    if not visible:
        return sa.false()
    has_gram = not any(ch.isspace() for ch in f.q) and (len(f.q) == 2 or not f.q.isascii())
    if not has_gram:
        return sa.or_(*visible)
    grams = SHORT_SEARCH_GRAMS.contains(pg.array([sa.func.lower(sa.literal(f.q, sa.Text))]))
    # Initials hold letter pairs of no name substring ("上海" -> "sh"), and pairs across a Latin run
    # ("贸易123" -> "my123"): only letters-only or non-ASCII-only queries match the grams exactly.
    same_fields = spelled == f.q.lower() if f.q.isascii() else not any(ch.isascii() for ch in f.q)
    exact = len(visible) == len(by_field) and same_fields
    return grams if exact else sa.and_(grams, sa.or_(*visible))


async def list_page(
    session: AsyncSession, *, order_by: str, limit: int, after: tuple[Any, uuid.UUID] | None, filters: ListFilter,
    reply: bool = False,
) -> list[Any]:
    """One statement. Plans are made for these values, never generic (`plan_cache_mode` is
    `force_custom_plan` on every connection, crm_platform/db.py): how selective a filter or `q` is
    decides between walking the sort index and reading the matches (docs/benchmarks.md).
    `reply`: with the reply columns, computed for the page's rows only (the page's ids are found
    first, then joined back by primary key). A page for a reply with no filter but the data scope
    (the plain list, any order, any page) runs on the driver, the statement built once
    (`_PLAIN_PAGES`): the same rows as named tuples of the same columns."""
    if reply and _plain(filters):
        owners = {} if filters.scope is None else {"scope_owners": filters.scope_owners}
        statement = _plain_page(order_by, after is not None, filters.scope is not None)
        values: dict[str, Any] = {"page_limit": limit, **owners}
        if after is not None:
            values |= {"after_key": after[0], "after_id": after[1]}
        return await statement.rows(session, values)
    return list((await session.execute(_page_query(order_by, limit, after, filters, reply))).all())


def _page_query(order_by: str, limit: Any, after: tuple[Any, Any] | None, filters: ListFilter,
                reply: bool) -> sa.Select[Any]:
    column, descending = ORDERINGS[order_by]
    query = _where(sa.select(customers.c.id, column) if reply else sa.select(customers), filters)
    if after is not None:
        key = sa.tuple_(column, customers.c.id)
        query = query.where(key < sa.tuple_(*after) if descending else key > sa.tuple_(*after))
    query = query.order_by(*_ordered(column, customers.c.id, descending)).limit(limit)
    if reply:
        page = query.subquery("page")
        # With the tags each customer carries (tag projection), for the list's tag column.
        query = (sa.select(customers, *REPLY_COLUMNS, tag_projection.TAG_IDS.label("tag_ids"))
                 .join(page, customers.c.id == page.c.id)
                 .order_by(*_ordered(page.c[column.name], page.c.id, descending)))
    return query


_NO_FILTER: Final = ListFilter()


def _plain(filters: ListFilter) -> bool:
    """No filter but the list's data scope (the scope's own flags aside)."""
    if filters.scope is not None and filters.scope_owners is None:
        return False  # a scope not made from owners
    return dataclasses.replace(filters, scope=None, scope_owners=None, own_only=False, hidden=frozenset()) == _NO_FILTER


# (order, after a cursor, scoped) -> the plain page's statement, with the scope as `owner_id = ANY`
# of the owners (what `owner_id IN (owners)` means) and the limit and cursor as parameters.
_PLAIN_PAGES: dict[tuple[str, bool, bool], DriverStatement] = {}


def _plain_page(order_by: str, after: bool, scoped: bool) -> DriverStatement:
    key = (order_by, after, scoped)
    statement = _PLAIN_PAGES.get(key)
    if statement is None:
        scope = customers.c.owner_id == sa.any_(sa.bindparam("scope_owners", type_=pg.ARRAY(pg.UUID(as_uuid=True))))
        column = ORDERINGS[order_by][0]
        cursor = (sa.bindparam("after_key", type_=column.type), sa.bindparam("after_id", type_=customers.c.id.type))
        query = _page_query(order_by, sa.bindparam("page_limit", type_=sa.Integer), cursor if after else None,
                            ListFilter(scope=scope if scoped else None), True)
        statement = _PLAIN_PAGES[key] = DriverStatement(
            query, required=["page_limit", "scope_owners", "after_key", "after_id"])
    return statement


async def count_upto(session: AsyncSession, filters: ListFilter, cap: int) -> int:
    """How many customers match, counting no further than `cap` + 1: the list's total stays
    cheap at a million rows (reads at most cap + 1 index entries or rows)."""
    matches = _where(sa.select(sa.literal(1)).select_from(customers), filters).limit(cap + 1).subquery()
    return int((await session.execute(sa.select(sa.func.count()).select_from(matches))).scalar_one())


def _ordered(column: Any, tie: Any, descending: bool) -> tuple[Any, Any]:
    return (column.desc(), tie.desc()) if descending else (column.asc(), tie.asc())


async def count(session: AsyncSession, filters: ListFilter) -> int:
    """How many customers match (every page of the list): on the narrow facts rows when the filter
    names only columns they hold (customer/facts.py), else on customers."""
    query = _facts_count(filters)
    if query is None:
        query = _where(sa.select(sa.func.count()).select_from(customers), filters)
    return int((await session.execute(query)).scalar_one())


def _facts_count(filters: ListFilter) -> sa.Select[Any] | None:
    """The count of `_where(filters)` on `customer_facts`, the value metrics read from the facts
    row; None when a condition needs the customers row (text search, or a column not copied)."""
    metrics: list[sa.ColumnElement[bool]] = []

    def without_metrics(f: ListFilter) -> ListFilter | None:
        if f.q:
            return None
        if f.spend_12m is not None:
            metrics.append(customer_facts.spend_in_range(*f.spend_12m))
        if f.orders_30d is not None:
            metrics.append(customer_facts.orders_in_range(*f.orders_30d))
        inner = None
        if f.segment is not None:
            inner = without_metrics(f.segment)
            if inner is None:
                return None
        return dataclasses.replace(f, spend_12m=None, orders_30d=None, segment=inner)

    plain = without_metrics(filters)
    if plain is None:
        return None
    try:
        return customer_facts.on_facts(_where(sa.select(sa.func.count()).select_from(customers), plain)).where(*metrics)
    except customer_facts.NotOnFacts:
        return None
