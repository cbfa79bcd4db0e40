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
from crm_platform.events import CloudEvent
from crm_platform.user_teams import SUBJECTS, UserChange, save_user_change, visible_owners
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
        return query.where("owner_id IN {scope_owners:Array(String)}", scope_owners=list(self.owners))

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
    """Identity's user events into `user_teams`: the team (data scope `team`), and for
    subscriptions the user's address, name, language, whether disabled, and effective access."""

    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        change = UserChange.parse(event)
        data = event.data
        access: dict[str, object] = {}
        if data.get("access_known"):
            access = {"access_known": True, "access_scopes": sorted(str(s) for s in data.get("access_scopes") or ()),
                      "data_scope": str(data.get("data_scope") or "own"),
                      "team_ids": [str(t) for t in data.get("team_ids") or ()],
                      "field_policies": {str(k): str(v) for k, v in dict(data.get("field_policies") or {}).items()}}
        await save_user_change(session, user_teams, change, display_name=change.display_name,
                               disabled=change.disabled, email=str(data.get("email") or "").strip(),
                               locale=str(data.get("locale") or "").strip(), **access)

    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=handle)
