"""Data scope on reports (docs/reporting.md, "Data scope"): a report counts only the customers the
caller may see, decided as customers' `access.scope_clause` decides it (crm_platform/user_teams.py):
`all` every customer, `own` those the caller owns, `team` those owned by the caller or by a member
of the token's teams. The owners are resolved in Postgres (`user_teams`, kept from identity's user
events by the `reporting-users` consumer) and passed to ClickHouse as one array parameter; the
owner of each customer is the current one in the customers projection (customers/tables.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.auth import Principal
from crm_platform.consumer import Subscription
from crm_platform.user_teams import user_teams_subscription, visible_owners
from crm_reporting.analytics import TenantQuery
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.scope.tables import user_teams

DURABLE_NAME = "reporting-users"


@dataclass(frozen=True)
class ReportScope:
    """Whose customers a report counts: `owners` None means every customer of the tenant."""

    owners: tuple[str, ...] | None = None

    def customers(self, query: TenantQuery) -> TenantQuery:
        """Narrows a query on the customers projection to customers in scope."""
        if self.owners is None:
            return query
        return query.where("has({scope_owners:Array(String)}, owner_id)", scope_owners=list(self.owners))

    def by_customer(self, query: TenantQuery) -> TenantQuery:
        """Narrows a query on a table keyed by `customer_id` (orders) to customers in scope, by
        their current owner (FINAL: the latest version of each customer)."""
        if self.owners is None:
            return query
        in_scope = self.customers(TenantQuery(CUSTOMERS, query.tenant_id, final=True).select("customer_id"))
        return query.where_in("customer_id", in_scope)


EVERY_CUSTOMER = ReportScope()


async def report_scope(session: AsyncSession, principal: Principal) -> ReportScope:
    """The caller's scope; Postgres is read only for data scope `team`."""
    owners = await visible_owners(session, user_teams, principal)
    return EVERY_CUSTOMER if owners is None else ReportScope(tuple(str(owner) for owner in owners))


def users_subscription() -> Subscription:
    return user_teams_subscription(DURABLE_NAME, user_teams)
