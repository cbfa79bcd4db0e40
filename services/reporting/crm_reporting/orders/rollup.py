"""The orders re-keyed by day and the per-owner daily spend rollup (docs/reporting.md, "Orders by
day and the daily spend rollup"): what the home page's money panels read instead of scanning every
order with FINAL (issue 11 P4).

Both are kept exact by recomputing from the current state after each write, never by deltas, so a
redelivered, late or repeated event rewrites the same rows:

- `orders_by_day` holds each order's latest version under its day. After the orders' rows are
  written, the written orders' versions are read from `orders` and the days they were ever written
  under from `order_days` (both through their primary keys); per order, the latest version is
  written live under its day and a tombstone (`is_deleted`, at the latest version) under every other
  day. `order_days` is needed because `orders` forgets older versions when it merges: a late version
  can be merged into its successor before it is read. Which rows are written depends only on the
  latest version and the days recorded, so any order of delivery ends in the same state.
- `owner_spend_days` holds, per (current owner, day, currency), the counted orders (kind order,
  confirmed or paid) of non-deleted customers: recomputed for whole days from `orders_by_day` joined
  with the customers' latest versions, whenever an order of that day changes or a customer with
  orders that day changes owner, is deleted, appears or is erased. Orders of a customer the
  projection does not know (yet) are counted under owner '' (everyone sees them, no rep does), as
  the raw path's anti-join on deleted customers does.
- `orders_by_customer` is the same re-keyed copy keyed by customer (`order_customers` remembering the
  customers as `order_days` the days), and `customer_spend` holds per (customer, currency) the counted
  orders' amount, count and last day, recomputed whole for every customer a written order has or had
  from that customer's rows (a primary-key read): what the churn card and the report builder's
  lifetime value read instead of a year or a lifetime of orders.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

from crm_reporting.analytics import Analytics, Row, TenantQuery
from crm_reporting.analytics.tables import Column, TenantTable
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.orders.service import SPEND_KIND, SPEND_STATUSES
from crm_reporting.orders.tables import ORDERS

_FORCE_MERGE = ("min_age_to_force_merge_seconds = 60", "min_age_to_force_merge_on_partition_only = 1")

# Every (order, day) a live `orders_by_day` row was written for, recorded before the row: the days a
# later version must tombstone. Never shrinks (a day no longer used costs one row).
ORDER_DAYS = TenantTable(
    name="order_days",
    columns=(Column("tenant_id", "UUID"), Column("order_id", "UUID"), Column("ordered_on", "Date32")),
    engine="ReplacingMergeTree",
    order_by=("tenant_id", "order_id", "ordered_on"),
    backfill="SELECT tenant_id, order_id, ordered_on FROM orders",
)

# ReplacingMergeTree(version, is_deleted): FINAL keeps the highest version of each (day, order) and
# drops it when that row is a tombstone. Partitioned by year (an insert of historical orders spans
# few partitions) with the forced merge of `orders`, so FINAL skips the merged years.
ORDERS_BY_DAY = TenantTable(
    name="orders_by_day",
    columns=(
        Column("tenant_id", "UUID"),
        Column("ordered_on", "Date32"),
        Column("order_id", "UUID"),
        Column("version", "UInt64"),
        Column("is_deleted", "UInt8"),
        Column("customer_id", "UUID"),
        Column("kind", "LowCardinality(String)"),
        Column("amount", "Decimal(38, 4)"),
        Column("currency", "LowCardinality(String)"),
        Column("status", "LowCardinality(String)"),
    ),
    engine="ReplacingMergeTree(version, is_deleted)",
    order_by=("tenant_id", "ordered_on", "order_id"),
    partition_by="toYear(ordered_on)",
    settings=_FORCE_MERGE,
    backfill=("SELECT tenant_id, ordered_on, order_id, version, 0, customer_id, kind, amount, currency, status "
              "FROM orders FINAL"),
)

# One row per (owner, day, currency) slice, replaced whole on each recompute (`stamp`: the time the
# recompute began reading, so a slower, older read never wins). A slice that lost its orders is
# written with `orders = 0` and read past.
OWNER_SPEND_DAYS = TenantTable(
    name="owner_spend_days",
    columns=(
        Column("tenant_id", "UUID"),
        Column("ordered_on", "Date32"),
        Column("owner_id", "String"),
        Column("currency", "LowCardinality(String)"),
        Column("amount", "Decimal(38, 4)"),
        Column("orders", "UInt64"),
        Column("stamp", "UInt64"),
    ),
    engine="ReplacingMergeTree(stamp)",
    order_by=("tenant_id", "ordered_on", "owner_id", "currency"),
    backfill=(
        "SELECT o.tenant_id, o.ordered_on, c.owner_id, o.currency, sum(o.amount), count(), 1 "
        "FROM orders_by_day AS o FINAL LEFT JOIN (SELECT tenant_id, customer_id, owner_id, deleted FROM customers "
        "FINAL) AS c ON c.tenant_id = o.tenant_id AND c.customer_id = o.customer_id "
        f"WHERE o.kind = '{SPEND_KIND}' AND o.status IN ({', '.join(repr(s) for s in SPEND_STATUSES)}) "
        "AND c.deleted = 0 GROUP BY o.tenant_id, o.ordered_on, c.owner_id, o.currency"
    ),
)

# Every (order, customer) a live `orders_by_customer` row was written for, recorded before the row:
# the customers a later version must tombstone (as `order_days` for the days). Has `customer_id`, so a
# customer's erasure deletes its rows (its rows in `orders_by_customer` go too).
ORDER_CUSTOMERS = TenantTable(
    name="order_customers",
    columns=(Column("tenant_id", "UUID"), Column("order_id", "UUID"), Column("customer_id", "UUID")),
    engine="ReplacingMergeTree",
    order_by=("tenant_id", "order_id", "customer_id"),
    backfill="SELECT tenant_id, order_id, customer_id FROM orders",
)

# The orders re-keyed by customer, kept as `orders_by_day` is: each order's latest version live under
# its customer, a tombstone at that version under every other customer it was written under. A
# customer's orders are then a primary-key range read (the per-customer spend below). Nothing reads
# the whole table with FINAL (only the start-up backfill of `customer_spend`), so it is neither
# partitioned nor force-merged: a read of a few customers costs a key lookup per part.
ORDERS_BY_CUSTOMER = TenantTable(
    name="orders_by_customer",
    columns=(
        Column("tenant_id", "UUID"),
        Column("customer_id", "UUID"),
        Column("order_id", "UUID"),
        Column("version", "UInt64"),
        Column("is_deleted", "UInt8"),
        Column("ordered_on", "Date32"),
        Column("kind", "LowCardinality(String)"),
        Column("amount", "Decimal(38, 4)"),
        Column("currency", "LowCardinality(String)"),
        Column("status", "LowCardinality(String)"),
    ),
    engine="ReplacingMergeTree(version, is_deleted)",
    order_by=("tenant_id", "customer_id", "order_id"),
    backfill=("SELECT tenant_id, customer_id, order_id, version, 0, ordered_on, kind, amount, currency, status "
              "FROM orders FINAL"),
)

# Per (customer, currency): the counted orders' (kind order, confirmed or paid) amount, count and
# last day, recomputed whole from `orders_by_customer` whenever an order of that customer changes
# (`stamp` as in `owner_spend_days`: the newer read wins). Independent of the customer's own state
# (owner, deletion): readers narrow by the customers they count. A customer that lost its counted
# orders in a currency is written with `order_count = 0` and read past.
CUSTOMER_SPEND = TenantTable(
    name="customer_spend",
    columns=(
        Column("tenant_id", "UUID"),
        Column("customer_id", "UUID"),
        Column("currency", "LowCardinality(String)"),
        Column("amount", "Decimal(38, 4)"),
        Column("order_count", "UInt64"),
        Column("last_ordered", "Date32"),
        Column("stamp", "UInt64"),
    ),
    engine="ReplacingMergeTree(stamp)",
    order_by=("tenant_id", "customer_id", "currency"),
    partition_by="cityHash64(customer_id) % 16",
    settings=_FORCE_MERGE,
    backfill=(
        "SELECT tenant_id, customer_id, currency, sum(amount), count(), max(ordered_on), 1 "
        f"FROM orders_by_customer FINAL WHERE kind = '{SPEND_KIND}' "
        f"AND status IN ({', '.join(repr(s) for s in SPEND_STATUSES)}) GROUP BY tenant_id, customer_id, currency"
    ),
)

ROLLUP_TABLES: Final = (ORDER_DAYS, ORDERS_BY_DAY, OWNER_SPEND_DAYS, ORDER_CUSTOMERS, ORDERS_BY_CUSTOMER,
                        CUSTOMER_SPEND)
# A tombstone's customer: none, so a customer's erasure (which deletes its rows by `customer_id`)
# never brings a superseded version back.
NO_CUSTOMER: Final = uuid.UUID(int=0)


def _counted(query: TenantQuery) -> TenantQuery:
    return (query.where("kind = {kind:String}", kind=SPEND_KIND)
            .where("status IN {statuses:Array(String)}", statuses=SPEND_STATUSES))


def counted_orders_by_day(tenant_id: uuid.UUID) -> TenantQuery:
    """Every counted order's latest version (kind order, confirmed or paid), keyed by day: a date
    range reads only its days."""
    return _counted(TenantQuery(ORDERS_BY_DAY, tenant_id, final=True))


def customer_spend(tenant_id: uuid.UUID) -> TenantQuery:
    """Every customer's counted spend per currency (customers with no counted order left read past)."""
    return TenantQuery(CUSTOMER_SPEND, tenant_id, final=True).where("order_count > 0")


def counted_orders_by_customer(tenant_id: uuid.UUID) -> TenantQuery:
    """Every counted order's latest version keyed by customer: a set of customers reads only theirs."""
    return _counted(TenantQuery(ORDERS_BY_CUSTOMER, tenant_id, final=True))


def spend_days(tenant_id: uuid.UUID, owners: tuple[str, ...] | None) -> TenantQuery:
    """The rollup's slices of the given owners (None: every owner, and orders of unknown customers)."""
    query = TenantQuery(OWNER_SPEND_DAYS, tenant_id, final=True).where("orders > 0")
    if owners is not None:
        query = query.where("owner_id IN {scope_owners:Array(String)}", scope_owners=list(owners))
    return query


def _key(value: Any) -> str:
    return str(value)


def rekeyed_rows(tenant_id: uuid.UUID, versions: Iterable[Row], seen: dict[str, set[Any]], key: str,
                 tombstone: Row | None = None) -> list[Row]:
    """The rows of an orders copy keyed by `key` (`ordered_on`: `orders_by_day`; `customer_id`:
    `orders_by_customer`): per order its latest version live under its value of `key`, and a
    tombstone at that version (with `tombstone`'s columns) under each other value of its versions or
    `seen`."""
    per_order: dict[str, list[Row]] = defaultdict(list)
    for row in versions:
        per_order[_key(row["order_id"])].append(row)
    rows: list[Row] = []
    for order_id, order_versions in per_order.items():
        latest = max(order_versions, key=lambda r: int(r["version"]))
        live = _order_row(tenant_id, latest)
        rows.append(live)
        others = {_KEY_VALUE[key](r[key]) for r in order_versions} | seen.get(order_id, set())
        for other in sorted(others - {live[key]}):
            rows.append({**live, key: other, "is_deleted": 1, **(tombstone or {})})
    return rows


# A version's value of a re-keyed copy's key, as its rows hold it.
_KEY_VALUE: Final[dict[str, Callable[[Any], Any]]] = {
    "ordered_on": lambda value: date.fromisoformat(str(value)),
    "customer_id": lambda value: uuid.UUID(_key(value)),
}


def _order_row(tenant_id: uuid.UUID, version: Row) -> Row:
    """One version of an order as a live row of a re-keyed copy."""
    return {"tenant_id": tenant_id, "order_id": uuid.UUID(_key(version["order_id"])),
            "version": int(version["version"]), "ordered_on": _KEY_VALUE["ordered_on"](version["ordered_on"]),
            "customer_id": _KEY_VALUE["customer_id"](version["customer_id"]), "kind": str(version["kind"]),
            "amount": str(version["amount"]), "currency": str(version["currency"]), "status": str(version["status"]),
            "is_deleted": 0}


def _versions(tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]) -> TenantQuery:
    return (TenantQuery(ORDERS, tenant_id).where("order_id IN {order_ids:Array(UUID)}", order_ids=list(order_ids))
            .select("order_id", "version", "customer_id", "kind", "toString(amount) AS amount", "currency",
                    "ordered_on", "status"))


async def customer_states(analytics: Analytics, tenant_id: uuid.UUID,
                          customer_ids: Sequence[uuid.UUID]) -> dict[str, tuple[str, int]]:
    """(owner, deleted) of each known customer's latest version: what decides its orders' slice."""
    if not customer_ids:
        return {}
    rows = await analytics.query(
        TenantQuery(CUSTOMERS, tenant_id, final=True)
        .where("customer_id IN {state_ids:Array(UUID)}", state_ids=list(customer_ids))
        .select("toString(customer_id) AS customer", "owner_id", "deleted"))
    return {str(r["customer"]): (str(r["owner_id"]), int(r["deleted"])) for r in rows}


async def customer_days(analytics: Analytics, tenant_id: uuid.UUID, customer_ids: Sequence[uuid.UUID]) -> set[date]:
    """The days of every row `orders_by_customer` holds under these customers (their orders' latest
    versions, superseded ones and tombstones alike, read without FINAL through the primary key): a
    superset of the slices their change of owner, deletion or erasure can move."""
    if not customer_ids:
        return set()
    rows = await analytics.query(
        TenantQuery(ORDERS_BY_CUSTOMER, tenant_id).select("DISTINCT ordered_on AS day")
        .where("customer_id IN {day_customers:Array(UUID)}", day_customers=list(customer_ids)))
    return {date.fromisoformat(str(r["day"])) for r in rows}


async def forget_customer(analytics: Analytics, tenant_id: uuid.UUID, customer_id: uuid.UUID,
                          erase: Callable[[], Awaitable[None]]) -> None:
    """Customer erasure (erasure.py deletes its rows from every table with `customer_id`, so its
    live `orders_by_day` rows too; tombstones carry no customer and stay): its days recomputed."""
    days = await customer_days(analytics, tenant_id, [customer_id])
    await erase()
    await recompute_days(analytics, tenant_id, days)


async def write_orders_by_day(analytics: Analytics, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID]) -> set[date]:
    """Rewrites the given orders' `orders_by_day` and `orders_by_customer` rows (`write_rekeyed`);
    returns every day involved."""
    days, _ = await write_rekeyed(analytics, tenant_id, order_ids)
    return days


async def write_rekeyed(analytics: Analytics, tenant_id: uuid.UUID,
                        order_ids: Sequence[uuid.UUID]) -> tuple[set[date], set[uuid.UUID]]:
    """Rewrites the given orders' `orders_by_day` and `orders_by_customer` rows from their versions in
    `orders` (written before) and the days and customers recorded for them; returns every day and
    every customer involved."""
    if not order_ids:
        return set(), set()
    versions = await analytics.query(_versions(tenant_id, order_ids))
    days = await _write_by_day(analytics, tenant_id, order_ids, versions)
    customers = await _write_by_customer(analytics, tenant_id, order_ids, versions)
    return days, customers


async def _write_by_day(analytics: Analytics, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID],
                        versions: list[Row]) -> set[date]:
    recorded = await analytics.query(
        TenantQuery(ORDER_DAYS, tenant_id).where("order_id IN {seen_ids:Array(UUID)}", seen_ids=list(order_ids))
        .select("toString(order_id) AS id", "ordered_on"))
    seen: dict[str, set[date]] = defaultdict(set)
    for r in recorded:
        seen[str(r["id"])].add(date.fromisoformat(str(r["ordered_on"])))
    # A tombstone under another day names no customer.
    rows = rekeyed_rows(tenant_id, versions, seen, "ordered_on", {"customer_id": NO_CUSTOMER})
    live = [r for r in rows if not r["is_deleted"]]
    new_days = [r for r in live if r["ordered_on"] not in seen.get(str(r["order_id"]), set())]
    # Recorded before the live row is written: a crash in between leaves a day to tombstone, never a
    # live row no later version knows of.
    await analytics.insert(ORDER_DAYS, [{"tenant_id": tenant_id, "order_id": r["order_id"],
                                         "ordered_on": r["ordered_on"]} for r in new_days])
    await analytics.insert(ORDERS_BY_DAY, rows)
    return {r["ordered_on"] for r in rows}


async def _write_by_customer(analytics: Analytics, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID],
                             versions: list[Row]) -> set[uuid.UUID]:
    recorded = await analytics.query(
        TenantQuery(ORDER_CUSTOMERS, tenant_id)
        .where("order_id IN {seen_ids:Array(UUID)}", seen_ids=list(order_ids))
        .select("toString(order_id) AS id", "toString(customer_id) AS customer"))
    seen: dict[str, set[uuid.UUID]] = defaultdict(set)
    for r in recorded:
        seen[str(r["id"])].add(uuid.UUID(str(r["customer"])))
    rows = rekeyed_rows(tenant_id, versions, seen, "customer_id")
    new = [r for r in rows if not r["is_deleted"] and r["customer_id"] not in seen.get(str(r["order_id"]), set())]
    # Recorded before the live row is written (as the days above).
    await analytics.insert(ORDER_CUSTOMERS, [{"tenant_id": tenant_id, "order_id": r["order_id"],
                                              "customer_id": r["customer_id"]} for r in new])
    await analytics.insert(ORDERS_BY_CUSTOMER, rows)
    return {r["customer_id"] for r in rows}


_NO_DAY: Final = date(1970, 1, 1)


async def recompute_customers(analytics: Analytics, tenant_id: uuid.UUID, customer_ids: Iterable[uuid.UUID]) -> None:
    """Rewrites these customers' `customer_spend` rows from their orders in `orders_by_customer`; a
    currency no longer holding counted orders is written empty.

    Both reads go through the primary key without FINAL (FINAL costs a merge plan over every part,
    most of this step's CPU): the rows of these customers are few, and the table's rule is applied
    here, per (customer, order) the highest version, dropped when a tombstone. Two rows of one
    (customer, order) at one version are the same row written twice: a version names one customer,
    so it is live under it and a tombstone under every other. The old spend rows are read only to
    find the currencies to write empty, so older rows (a superset) are harmless."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return
    stamp = time.time_ns()
    in_customers = {"spend_customers": wanted}
    found = await analytics.query(
        TenantQuery(ORDERS_BY_CUSTOMER, tenant_id)
        .where("customer_id IN {spend_customers:Array(UUID)}", **in_customers)
        .select("toString(customer_id) AS customer", "toString(order_id) AS id", "version", "is_deleted", "kind",
                "status", "currency", "toString(amount) AS amount", "ordered_on"))
    latest: dict[tuple[str, str], Row] = {}
    for r in found:
        key = (str(r["customer"]), str(r["id"]))
        if key not in latest or int(latest[key]["version"]) < int(r["version"]):
            latest[key] = r
    spend: dict[tuple[str, str], Row] = {}
    for (customer, _), r in latest.items():
        if int(r["is_deleted"]) or str(r["kind"]) != SPEND_KIND or str(r["status"]) not in SPEND_STATUSES:
            continue
        day = date.fromisoformat(str(r["ordered_on"]))
        slot = spend.setdefault((customer, str(r["currency"])),
                                {"amount": Decimal(0), "order_count": 0, "last_ordered": day})
        slot["amount"] += Decimal(str(r["amount"]))
        slot["order_count"] += 1
        slot["last_ordered"] = max(slot["last_ordered"], day)
    old = await analytics.query(
        TenantQuery(CUSTOMER_SPEND, tenant_id).where("customer_id IN {spend_customers:Array(UUID)}", **in_customers)
        .where("order_count > 0").select("DISTINCT toString(customer_id) AS customer", "currency"))
    rows: dict[tuple[str, str], Row] = {
        (str(r["customer"]), str(r["currency"])): {"amount": "0", "order_count": 0, "last_ordered": _NO_DAY}
        for r in old}
    for key, values in spend.items():
        rows[key] = {**values, "amount": str(values["amount"])}
    await analytics.insert(CUSTOMER_SPEND, [
        {"tenant_id": tenant_id, "customer_id": uuid.UUID(customer), "currency": currency, "stamp": stamp, **values}
        for (customer, currency), values in rows.items()])


async def recompute_days(analytics: Analytics, tenant_id: uuid.UUID, days: Iterable[date]) -> None:
    """Rewrites every slice of these days from `orders_by_day` and the customers' latest versions;
    slices that no longer have counted orders are written empty."""
    wanted = sorted(set(days))
    if not wanted:
        return
    stamp = time.time_ns()
    in_days = {"rollup_days": wanted}
    orders = counted_orders_by_day(tenant_id).where("ordered_on IN {rollup_days:Array(Date32)}", **in_days)
    owners = (TenantQuery(CUSTOMERS, tenant_id, final=True).select("customer_id", "owner_id", "deleted")
              .where_in("customer_id", orders.select("customer_id")))
    fresh = await analytics.query(
        orders.left_join("c", owners).where("c.deleted = 0")
        .select("ordered_on", "c.owner_id AS owner", "currency", "toString(sum(amount)) AS amount",
                "count() AS orders")
        .group_by("ordered_on", "owner", "currency"))
    old = await analytics.query(
        spend_days(tenant_id, None).where("ordered_on IN {rollup_days:Array(Date32)}", **in_days)
        .select("ordered_on", "owner_id AS owner", "currency"))
    rows: dict[tuple[str, str, str], Row] = {}
    for r in old:
        key = (str(r["ordered_on"]), str(r["owner"]), str(r["currency"]))
        rows[key] = {"amount": "0", "orders": 0}
    for r in fresh:
        key = (str(r["ordered_on"]), str(r["owner"]), str(r["currency"]))
        rows[key] = {"amount": str(r["amount"]), "orders": int(r["orders"])}
    await analytics.insert(OWNER_SPEND_DAYS, [
        {"tenant_id": tenant_id, "ordered_on": date.fromisoformat(day), "owner_id": owner, "currency": currency,
         "stamp": stamp, **values}
        for (day, owner, currency), values in rows.items()])


async def unknown_customer_days(analytics: Analytics, tenant_id: uuid.UUID) -> set[date]:
    """The days holding counted orders of customers the projection did not know when the day was
    computed (owner `''`): the only slices a customer appearing for the first time can move. Usually
    none, so an import's new customers cost one small read instead of a scan of every order."""
    rows = await analytics.query(spend_days(tenant_id, ("",)).select("DISTINCT ordered_on AS day"))
    return {date.fromisoformat(str(r["day"])) for r in rows}


async def refresh(analytics: Analytics, tenant_id: uuid.UUID, order_ids: Sequence[uuid.UUID],
                  changed_customers: Sequence[uuid.UUID], appeared_customers: Sequence[uuid.UUID] = ()) -> None:
    """After the orders' and customers' rows of a batch are written: the written orders re-keyed (by
    day and by customer), then every day they or the changed customers' orders are on recomputed (for
    customers seen for the first time, the days of unknown customers' orders), and the spend of every
    customer the written orders have or had."""
    days, customers = await write_rekeyed(analytics, tenant_id, order_ids)
    days |= await customer_days(analytics, tenant_id, changed_customers)
    if appeared_customers:
        days |= await unknown_customer_days(analytics, tenant_id)
    await recompute_days(analytics, tenant_id, days)
    # The per-customer spend depends only on the orders (not on the customer's owner or deletion).
    await recompute_customers(analytics, tenant_id, customers)
