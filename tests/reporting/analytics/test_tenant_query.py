"""The builder cannot produce a query without the tenant filter, nor one a fragment can widen."""

from __future__ import annotations

import dataclasses
import random
import re
import uuid

import pytest

from crm_reporting.analytics import Column, TenantQuery, TenantTable, UnsafeFragment
from crm_reporting.analytics.query import TENANT_PARAM
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.event_log.tables import EVENTS

TENANT = uuid.UUID("0190d6b8-0000-7000-8000-000000000001")
TENANT_FILTER = "WHERE tenant_id = {tenant_id:UUID}"


def where_clause(sql: str) -> str:
    return next(line for line in sql.splitlines() if line.startswith("WHERE "))


def test_the_tenant_filter_comes_first_and_is_bound_to_the_builder_tenant() -> None:
    built = TenantQuery(CUSTOMERS, TENANT, final=True).select("industry", "count() AS customers").build()

    assert built.sql == (
        "SELECT industry, count() AS customers\nFROM customers FINAL\nWHERE tenant_id = {tenant_id:UUID}"
    )
    assert built.params == {TENANT_PARAM: TENANT}


def test_every_condition_is_anded_after_the_tenant_filter_in_its_own_parentheses() -> None:
    built = (
        TenantQuery(CUSTOMERS, TENANT)
        .select("count() AS n")
        .where("1 = 1 OR 1 = 1")
        .where("industry = {industry:String}", industry="retail")
        .build()
    )

    assert where_clause(built.sql) == f"{TENANT_FILTER} AND (1 = 1 OR 1 = 1) AND (industry = {{industry:String}})"
    assert built.params == {"industry": "retail", TENANT_PARAM: TENANT}


# Every way of chaining the builder's methods, in random orders and combinations.
STEPS = [
    lambda q: q.select("industry"),
    lambda q: q.select("count() AS n"),
    lambda q: q.where("deleted = 0"),
    lambda q: q.where("status = {status:String} OR region = {region:String}", status="won", region="cn"),
    lambda q: q.group_by("industry"),
    lambda q: q.having("count() > {least:UInt64}", least=1),
    lambda q: q.order_by("industry DESC"),
    lambda q: q.limit(10),
]


@pytest.mark.parametrize("seed", range(200))
def test_no_chain_of_builder_calls_loses_the_tenant_filter(seed: int) -> None:
    rng = random.Random(seed)
    query = TenantQuery(rng.choice([CUSTOMERS, EVENTS]), TENANT, final=rng.random() < 0.5).select("1 AS one")
    for step in rng.sample(STEPS, rng.randint(0, len(STEPS))):
        query = step(query)

    built = query.build()
    assert built.sql.count("WHERE") == 1
    assert where_clause(built.sql).startswith(TENANT_FILTER)
    rest = where_clause(built.sql).removeprefix(TENANT_FILTER)
    assert re.fullmatch(r"( AND \(.+?\))*", rest)
    assert built.params[TENANT_PARAM] == TENANT


@pytest.mark.parametrize("tenant", [str(TENANT), TENANT.hex, None, "", 1])
def test_the_tenant_must_be_a_parsed_uuid(tenant: object) -> None:
    with pytest.raises(TypeError):
        TenantQuery(CUSTOMERS, tenant)  # type: ignore[arg-type]


def test_the_tenant_cannot_be_swapped_for_unparsed_text_afterwards() -> None:
    query = TenantQuery(CUSTOMERS, TENANT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.tenant_id = uuid.uuid4()  # type: ignore[misc]
    with pytest.raises(TypeError):
        dataclasses.replace(query, tenant_id=f"{TENANT}' OR 1=1 --")  # type: ignore[arg-type]


def test_only_declared_tenant_tables_can_be_queried() -> None:
    with pytest.raises(TypeError):
        TenantQuery("customers", TENANT)  # type: ignore[arg-type]


def test_a_table_cannot_be_declared_without_tenant_id_leading_its_order() -> None:
    tenant = Column("tenant_id", "UUID")
    other = Column("customer_id", "UUID")
    with pytest.raises(ValueError, match="ORDER BY"):
        TenantTable("t", (tenant, other), "MergeTree", order_by=("customer_id", "tenant_id"))
    with pytest.raises(ValueError, match="tenant_id UUID"):
        TenantTable("t", (other,), "MergeTree", order_by=("tenant_id",))
    with pytest.raises(ValueError, match="identifier"):
        TenantTable("t; DROP TABLE x", (tenant,), "MergeTree", order_by=("tenant_id",))


ESCAPES = [
    "1) OR (1",  # closes the tenant filter's parentheses
    "1 = 1) OR tenant_id != {t:UUID",
    "industry = 'retail'",  # literals must be bound, not written
    'industry = "retail"',
    "1 = 1; DROP TABLE customers",
    "1 = 1 -- comment hides the rest",
    "1 = 1 /* comment */",
    "1 = 1 # comment",
    "customer_id IN (SELECT customer_id FROM customers)",
    "customer_id IN customers",
    "customer_id GLOBAL IN other_table",
    "customer_id IN {t:UUID}",  # only a bound array may follow IN
    "customer_id GLOBAL IN {t:Array(UUID)}",
    "customer_id IN {t:Array(UUID)} OR customer_id IN customers",
    "dictGet('d', 'x', customer_id) = 1",
    "joinGet(j, 'x', customer_id) = 1",
    "exists(SELECT 1)",
    "1 = 1 UNION ALL SELECT * FROM events",
    "$$x$$ = 1",
    "industry = \\x27",
    "{x:String",
    "",
    "   ",
]


@pytest.mark.parametrize("fragment", ESCAPES)
def test_fragments_that_could_escape_the_tenant_filter_are_refused(fragment: str) -> None:
    query = TenantQuery(CUSTOMERS, TENANT)
    with pytest.raises(UnsafeFragment):
        query.where(fragment, t=TENANT) if "{t:" in fragment else query.where(fragment)


@pytest.mark.parametrize(
    ("method", "fragment"),
    [
        ("select", "(SELECT count() FROM customers) AS everyone"),
        ("select", "industry FROM events WHERE 1"),
        ("group_by", "industry SETTINGS max_threads = 1"),
        ("order_by", "industry FORMAT CSV"),
        ("order_by", "industry LIMIT 1"),
    ],
)
def test_select_group_and_order_fragments_are_checked_too(method: str, fragment: str) -> None:
    with pytest.raises(UnsafeFragment):
        getattr(TenantQuery(CUSTOMERS, TENANT), method)(fragment)


def test_the_tenant_parameter_name_is_reserved() -> None:
    with pytest.raises(UnsafeFragment):
        TenantQuery(CUSTOMERS, TENANT).where("tenant_id = {tenant_id:UUID}", tenant_id=uuid.uuid4())


def test_placeholders_need_values_and_values_need_placeholders() -> None:
    query = TenantQuery(CUSTOMERS, TENANT)
    with pytest.raises(ValueError, match="no value"):
        query.where("industry = {industry:String}")
    with pytest.raises(ValueError, match="not used"):
        query.where("industry = {industry:String}", industry="a", indstry="typo")


def test_a_query_needs_a_select_list_and_a_sane_limit() -> None:
    with pytest.raises(ValueError):
        TenantQuery(CUSTOMERS, TENANT).build()
    for bad in (-1, True, 1.5):
        with pytest.raises(ValueError):
            TenantQuery(CUSTOMERS, TENANT).limit(bad)  # type: ignore[arg-type]


def test_builder_calls_do_not_mutate_earlier_queries() -> None:
    base = TenantQuery(CUSTOMERS, TENANT).select("count() AS n")
    narrowed = base.where("deleted = 0")
    assert "deleted" not in base.build().sql
    assert "deleted" in narrowed.build().sql
    assert narrowed.build().params == {TENANT_PARAM: TENANT}


def test_left_join_reads_the_same_tenant_and_keeps_the_tenant_filter_first() -> None:
    """The report builder's per-customer figures: a joined query carries its own tenant filter, the
    outer filter is qualified with the table, and only fresh plain aliases and real columns join."""
    from crm_reporting.orders.tables import ORDERS

    spend = (TenantQuery(ORDERS, TENANT, final=True).select("customer_id", "sum(amount) AS spend")
             .where("currency = {currency:String}", currency="CNY").group_by("customer_id"))
    joined = TenantQuery(CUSTOMERS, TENANT, final=True).left_join("v", spend).select("count()", "sum(v.spend)")
    built = joined.build()
    assert "LEFT JOIN (SELECT customer_id, sum(amount) AS spend\nFROM orders FINAL\nWHERE tenant_id = " \
           "{tenant_id:UUID}" in built.sql
    assert "USING (customer_id)\nWHERE customers.tenant_id = {tenant_id:UUID}" in built.sql
    assert built.params == {"currency": "CNY", TENANT_PARAM: TENANT}
    other = TenantQuery(ORDERS, uuid.uuid4()).select("customer_id")
    with pytest.raises(UnsafeFragment):
        TenantQuery(CUSTOMERS, TENANT).left_join("v", other)
    for alias in ("v; DROP", "select", "V"):
        with pytest.raises(UnsafeFragment):
            TenantQuery(CUSTOMERS, TENANT).left_join(alias, spend)
    with pytest.raises(UnsafeFragment):
        TenantQuery(CUSTOMERS, TENANT).left_join("v", spend).left_join("v", spend)
    for using in ("tenant_id", "nope"):
        with pytest.raises(UnsafeFragment):
            TenantQuery(CUSTOMERS, TENANT).left_join("v", spend, using=using)
    with pytest.raises(ValueError):
        TenantQuery(CUSTOMERS, TENANT).where("industry = {currency:String}", currency="USD").left_join("v", spend)


def test_membership_in_a_bound_array_is_the_one_in_a_fragment_may_use() -> None:
    """`x IN {list:Array(T)}` reads no table (the list is a bound value) and is far cheaper than
    `has()` over millions of rows; it is accepted and ANDed after the tenant filter like any other."""
    built = (TenantQuery(CUSTOMERS, TENANT).select("count()")
             .where("status IN {statuses:Array(String)}", statuses=["won"])
             .where("owner_id NOT IN {owners:Array(String)}", owners=["a"]).build())
    assert where_clause(built.sql) == (f"{TENANT_FILTER} AND (status IN {{statuses:Array(String)}}) "
                                       "AND (owner_id NOT IN {owners:Array(String)})")
    assert built.params == {"statuses": ["won"], "owners": ["a"], TENANT_PARAM: TENANT}


def test_where_not_in_excludes_a_subquery_of_the_same_tenant_only() -> None:
    tagged = TenantQuery(CUSTOMERS, TENANT, final=True).select("customer_id").where(
        "industry = {industry:String}", industry="IT")
    built = TenantQuery(CUSTOMERS, TENANT, final=True).select("count()").where_not_in("customer_id", tagged).build()
    assert built.sql.splitlines()[2] == (
        "WHERE tenant_id = {tenant_id:UUID} AND (NOT (customer_id IN (SELECT customer_id\nFROM customers FINAL"
    ).splitlines()[0]
    assert "(NOT (customer_id IN (SELECT customer_id\nFROM customers FINAL\nWHERE tenant_id = {tenant_id:UUID} AND " \
           "(industry = {industry:String}))))" in built.sql
    assert built.params == {TENANT_PARAM: TENANT, "industry": "IT"}
    other = TenantQuery(CUSTOMERS, uuid.uuid4(), final=True).select("customer_id")
    with pytest.raises(UnsafeFragment):
        TenantQuery(CUSTOMERS, TENANT).select("count()").where_not_in("customer_id", other)
    with pytest.raises(ValueError):
        TenantQuery(CUSTOMERS, TENANT).select("count()").where_not_in("customer_id", tagged.select("industry"))
    with pytest.raises(ValueError):  # one name, two values
        TenantQuery(CUSTOMERS, TENANT).select("count()").where("industry = {industry:String}", industry="x") \
            .where_not_in("customer_id", tagged)
