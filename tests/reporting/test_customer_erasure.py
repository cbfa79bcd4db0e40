"""Customer erasure in reporting, on both analytics backends: every ClickHouse row about one
customer of one tenant goes (customers projection, event log entries naming it), through the
tenant-safe `TenantDelete`; other customers and other tenants keep theirs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.analytics.query import TenantDelete, UnsafeFragment
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.erasure import customer_deletes, erase_customer
from crm_reporting.event_log.tables import EVENTS
from crm_reporting.main import ANALYTICS_TABLES
from tests.reporting.analytics.test_analytics_backends import event_row

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def customer_row(tenant: uuid.UUID, customer: uuid.UUID) -> dict[str, object]:
    return {"tenant_id": tenant, "customer_id": customer, "version": 1, "type": "enterprise", "industry": "IT",
            "region": "华北", "status": "won", "owner_id": "", "created_at": WHEN, "updated_at": WHEN,
            "deleted": 0, "event_id": str(uuid.uuid4())}


def test_a_narrowed_delete_keeps_the_tenant_filter_first() -> None:
    tenant, customer = uuid.uuid4(), uuid.uuid4()
    built = TenantDelete(CUSTOMERS, tenant).where("toString(customer_id) = {c:String}", c=str(customer)).build()
    assert built.sql == ("ALTER TABLE customers DELETE WHERE tenant_id = {tenant_id:UUID} AND "
                         "(toString(customer_id) = {c:String}) SETTINGS mutations_sync = 2")
    assert built.params == {"tenant_id": tenant, "c": str(customer)}
    assert str(customer) not in built.sql
    with pytest.raises(UnsafeFragment):
        TenantDelete(CUSTOMERS, tenant).where("1 = 1 OR customer_id IN (SELECT 1)")
    with pytest.raises(UnsafeFragment):
        TenantDelete(CUSTOMERS, tenant).where("tenant_id = {tenant_id:UUID}", tenant_id=uuid.uuid4())
    with pytest.raises(ValueError):
        TenantDelete(CUSTOMERS, tenant).where("customer_id = {c:UUID}")  # a placeholder without a value


def test_every_table_about_customers_is_covered() -> None:
    tables = {d.table.name for d in customer_deletes(ANALYTICS_TABLES, uuid.uuid4(), uuid.uuid4())}
    assert tables == {t.name for t in ANALYTICS_TABLES if "customer_id" in t.column_names} | {EVENTS.name}


async def _customers(analytics: Analytics, tenant: uuid.UUID) -> set[str]:
    rows = await analytics.query(TenantQuery(CUSTOMERS, tenant, final=True).select("customer_id"))
    return {str(r["customer_id"]) for r in rows}


async def _events(analytics: Analytics, tenant: uuid.UUID) -> set[str]:
    rows = await analytics.query(TenantQuery(EVENTS, tenant, final=True).select("event_id"))
    return {str(r["event_id"]) for r in rows}


async def test_erase_customer_removes_its_rows_only(
    analytics: Analytics, tenant: uuid.UUID, other_tenant: uuid.UUID
) -> None:
    gone, kept = uuid.uuid4(), uuid.uuid4()
    await analytics.insert(CUSTOMERS, [customer_row(tenant, gone), customer_row(tenant, kept),
                                       customer_row(other_tenant, gone)])
    about_gone = {**event_row(tenant, "e-subject"), "subject": str(gone)}
    in_data = event_row(tenant, "e-data", type="crm.tag.applied", data=json.dumps({"customer_id": str(gone)}))
    unrelated = {**event_row(tenant, "e-kept"), "subject": str(kept)}
    await analytics.insert(EVENTS, [about_gone, in_data, unrelated, {**about_gone, "tenant_id": other_tenant}])

    await erase_customer(analytics, ANALYTICS_TABLES, tenant, gone)

    assert await _customers(analytics, tenant) == {str(kept)}
    assert await _events(analytics, tenant) == {"e-kept"}
    # The same id in another tenant is another tenant's business.
    assert await _customers(analytics, other_tenant) == {str(gone)}
    assert await _events(analytics, other_tenant) == {"e-subject"}
    # Idempotent.
    await erase_customer(analytics, ANALYTICS_TABLES, tenant, gone)
    assert await _customers(analytics, tenant) == {str(kept)}
