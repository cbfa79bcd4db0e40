"""Every statement on the customers table."""

from __future__ import annotations

import uuid

from crm_reporting.analytics import Analytics, Row, TenantQuery
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.scope.service import ReportScope


class CustomerRepository:
    async def save_versions(self, analytics: Analytics, rows: list[Row]) -> None:
        await analytics.insert(CUSTOMERS, rows)

    async def count_by_industry(self, analytics: Analytics, tenant_id: uuid.UUID, scope: ReportScope) -> list[Row]:
        """Rows {"industry", "customers"} over current, non-deleted customers in `scope`. FINAL
        collapses each customer to its latest version before `deleted` and the owner are tested and
        rows are counted."""
        query = (
            scope.customers(TenantQuery(CUSTOMERS, tenant_id, final=True))
            .select("industry", "count() AS customers")
            .where("deleted = 0")
            .group_by("industry")
            .order_by("customers DESC", "industry ASC")
        )
        return await analytics.query(query)


customer_repository = CustomerRepository()
