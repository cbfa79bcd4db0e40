"""Counting customers on `customer_facts` (migration c0240): one narrow row per customer, kept by
triggers from the customers row and the value metrics projection in the writing transaction.

A count is the list's own statement (repository `_where`, so the same filter, data scope and
segment) with the customers table swapped for the facts table: the facts table is read under the
name `customers`, so every condition written against customers (columns, `customers.tag_ids`,
the scope's owner list, the segment's tags) reads the same column of the facts row. A filter
naming a column the facts do not hold (text search, exact contact fields, number ranges) is
counted on customers as before. The value metrics are read from the facts row's own figures (no
join): a figure still fresh as stored, a stale or multi-currency one from the orders, as
crm_customers/metrics computes it, through the tenant's PARALLEL SAFE functions (c0261) so that a
count with a metric is still one parallel scan."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from crm_customers.customer.tables import customers
from crm_platform.db import TENANT

customer_facts = sa.Table(
    "customer_facts", sa.MetaData(),
    # In the table's order (c0261): what every count reads first.
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.Column("tag_ids", pg.ARRAY(pg.UUID(as_uuid=True))),
    sa.Column("spend_stale_from", sa.Date), sa.Column("orders_stale_from", sa.Date),
    sa.Column("orders_30d", sa.Integer),
    sa.Column("spend_currency", sa.Text), sa.Column("spend_12m", sa.Numeric(20, 4)),
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("status", sa.Text), sa.Column("owner_id", pg.UUID(as_uuid=True)), sa.Column("custom_fields", pg.JSONB),
    sa.Column("industry", sa.Text), sa.Column("region", sa.Text), sa.Column("source", sa.Text),
    sa.Column("type", sa.Text), sa.Column("value_segment", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    schema=TENANT,
)
# Read under the customers table's name: literal columns such as `customers.tag_ids` resolve to it.
AS_CUSTOMERS: Final = customer_facts.alias("customers")
SEVERAL_CURRENCIES: Final = "*"


class NotOnFacts(Exception):
    """The statement names a customers column the facts row does not hold."""


def on_facts(statement: sa.Select[Any]) -> sa.Select[Any]:
    """`statement` (over customers) with every customers column read from the facts row instead;
    NotOnFacts when one is not there."""

    def swap(element: Any, **_: Any) -> Any:
        if element is customers:
            return AS_CUSTOMERS
        if isinstance(element, sa.Column) and element.table is customers:
            if element.name not in AS_CUSTOMERS.c:
                raise NotOnFacts(element.name)
            return AS_CUSTOMERS.c[element.name]
        return None

    return cast(sa.Select[Any], visitors.replacement_traverse(statement, {}, swap))


class _LiveSpend(FunctionElement[Decimal]):
    """The customer's spend in the last 12 months in one currency from its orders (c0261; the same
    figure as metrics/repository.py `live_value`)."""

    name = "customer_live_spend_12m"
    type = sa.Numeric()
    inherit_cache = True


class _LiveOrders(FunctionElement[int]):
    """The customer's orders in the last 30 days from its orders (c0261, as `_LiveSpend`)."""

    name = "customer_live_orders_30d"
    type = sa.BigInteger()
    inherit_cache = True


@compiles(_LiveSpend)
@compiles(_LiveOrders)
def _tenant_function(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    """The function in the tenant's schema: named like the facts table's schema, so the session's
    schema translate map (crm_platform/db.py) places it as it places the tables."""
    schema = compiler.preparer.quote_schema(cast(str, compiler.preparer.schema_for_object(customer_facts)))
    return f"{schema}.{element.name}({compiler.process(element.clauses, **kw)})"


def _bounded(value: sa.ColumnElement[Any], lowest: Any, highest: Any) -> sa.ColumnElement[bool]:
    return sa.and_(sa.true(), *([value >= lowest] if lowest is not None else []),
                   *([value <= highest] if highest is not None else []))


def spend_in_range(lowest: Decimal | None, highest: Decimal | None, currency: str) -> sa.ColumnElement[bool]:
    """The customer's spend in the last 12 months in `currency` lies in [lowest, highest]: 0 when
    nothing was counted, the stored figure while fresh, else what the orders give today."""
    f = AS_CUSTOMERS.c
    fresh = f.spend_stale_from > sa.func.current_date()
    value = sa.case(
        (f.spend_currency.is_(None), Decimal(0)),
        (sa.and_(fresh, f.spend_currency == currency), f.spend_12m),
        (sa.and_(fresh, f.spend_currency != SEVERAL_CURRENCIES), Decimal(0)),
        else_=_LiveSpend(f.id, currency),
    )
    return _bounded(value, lowest, highest)


def orders_in_range(lowest: int | None, highest: int | None) -> sa.ColumnElement[bool]:
    """The customer's orders in the last 30 days lie in [lowest, highest] (as `spend_in_range`)."""
    f = AS_CUSTOMERS.c
    value = sa.case(
        (f.orders_stale_from.is_(None), 0),
        (f.orders_stale_from > sa.func.current_date(), f.orders_30d),
        else_=_LiveOrders(f.id),
    )
    return _bounded(value, lowest, highest)
