"""`ensure_schema` moves a table whose declared partitioning changed (the orders, partitioned by a
hash of the order id) to the new layout at start, keeping every row and version; a copy left by a
crash is dropped; and `command` takes no copy but the rebuild's plain one."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.analytics.backend import check_ddl
from crm_reporting.analytics.schema import REBUILD_SUFFIX, ensure_schema
from crm_reporting.analytics.tables import Column, TenantTable
from crm_reporting.orders.rollup import ORDERS_BY_DAY


def layouts(name: str) -> tuple[TenantTable, TenantTable]:
    columns = (Column("tenant_id", "UUID"), Column("order_id", "UUID"), Column("version", "UInt64"),
               Column("amount", "Decimal(38, 4)"))
    old = TenantTable(name, columns, "ReplacingMergeTree(version)", ("tenant_id", "order_id"))
    new = TenantTable(name, (*columns, Column("status", "LowCardinality(String)")), "ReplacingMergeTree(version)",
                      ("tenant_id", "order_id"), partition_by="cityHash64(order_id) % 4",
                      settings=("min_age_to_force_merge_seconds = 60",))
    return old, new


async def test_a_repartitioned_table_is_rebuilt_with_every_version(analytics: Analytics, tenant: uuid.UUID) -> None:
    old, new = layouts(f"rebuild_probe_{uuid.uuid4().hex[:8]}")
    await ensure_schema(analytics, [old])
    orders = [uuid.uuid4() for _ in range(40)]
    # Two versions of each order in two inserts (two parts): the rebuild must keep the latest.
    for version in (2, 1):
        await analytics.insert(old, [{"tenant_id": tenant, "order_id": o, "version": version,
                                      "amount": f"{n}.{version}"} for n, o in enumerate(orders)])
    # A copy a crashed rebuild left behind (its rows must not come back).
    await analytics.command(new.create_sql(new.name + REBUILD_SUFFIX))
    await analytics.command(f"INSERT INTO {new.name + REBUILD_SUFFIX} (tenant_id) SELECT tenant_id FROM {old.name}")

    await ensure_schema(analytics, [new])
    await ensure_schema(analytics, [new])  # again: nothing to do

    assert await analytics.partition_key(new.name) == "cityHash64(order_id) % 4"
    assert await analytics.partition_key(new.name + REBUILD_SUFFIX) is None
    [row] = await analytics.query(TenantQuery(new, tenant, final=True).select(
        "count() AS orders", "toString(sum(amount)) AS total", "min(version) AS lowest"))
    assert (row["orders"], Decimal(row["total"]), row["lowest"]) == (40, sum(Decimal(f"{n}.2") for n in range(40)), 2)
    await analytics.command(f"DROP TABLE {new.name}")


def test_command_takes_only_the_plain_copy() -> None:
    check_ddl("INSERT INTO orders_rebuild (tenant_id, order_id) SELECT tenant_id, order_id FROM orders")
    check_ddl("EXCHANGE TABLES orders AND orders_rebuild")
    for sql in ("INSERT INTO a (x) SELECT y FROM b",
                "INSERT INTO a (x) SELECT x FROM b WHERE 1",
                "INSERT INTO a (x) SELECT x FROM b; DROP TABLE c",
                "INSERT INTO a (x) SELECT x FROM system.tables",
                "SELECT x FROM b"):
        with pytest.raises(ValueError):
            check_ddl(sql)


def test_command_runs_an_insert_select_only_when_it_is_a_declared_backfill() -> None:
    columns = ", ".join(c.name for c in ORDERS_BY_DAY.columns)
    assert ORDERS_BY_DAY.backfill is not None
    check_ddl(f"INSERT INTO orders_by_day_rebuild ({columns}) {ORDERS_BY_DAY.backfill}")
    for undeclared in (f"INSERT INTO orders_by_day_rebuild ({columns}) SELECT * FROM customers",
                       f"INSERT INTO orders_by_day_rebuild ({columns}) {ORDERS_BY_DAY.backfill} WHERE 1"):
        with pytest.raises(ValueError):
            check_ddl(undeclared)
