"""Reporting's part of customer erasure (docs/customers.md, "Erasure"): on `customer.erased` every
ClickHouse row about the customer is deleted through the tenant-safe `TenantDelete` (a synchronous
`ALTER TABLE ... DELETE` whose first condition is the tenant filter):

- tables with a `customer_id` column (the customers projection, and any projection keyed by
  customer, such as orders): the rows of that customer;
- the event log: events whose subject is the customer or whose data mentions its id.

The erasure event itself is then logged (it holds the id only). The id is remembered in Postgres
(crm_platform/erasure.py) and the projector skips later events about it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from crm_reporting.analytics import Analytics, TenantTable
from crm_reporting.analytics.query import TenantDelete
from crm_reporting.followups.service import erase_moved

BY_CUSTOMER = "toString(customer_id) = {customer_id:String}"
MENTIONING = "subject = {customer_id:String} OR position(data, {customer_id:String}) > 0"


def customer_deletes(tables: Sequence[TenantTable], tenant_id: uuid.UUID, customer_id: uuid.UUID) -> list[TenantDelete]:
    deletes = []
    for table in tables:
        if "customer_id" in table.column_names:
            condition = BY_CUSTOMER
        elif {"subject", "data"} <= table.column_names:
            condition = MENTIONING
        else:
            continue
        deletes.append(TenantDelete(table, tenant_id).where(condition, customer_id=str(customer_id)))
    return deletes


async def erase_customer(
    analytics: Analytics, tables: Sequence[TenantTable], tenant_id: uuid.UUID, customer_id: uuid.UUID
) -> None:
    await erase_moved(analytics, tables, tenant_id, customer_id)  # rows a merge moved: every version (followups/)
    for delete in customer_deletes(tables, tenant_id, customer_id):
        await analytics.delete_tenant(delete)
