"""Built-in roles and the scopes each grants (issue 3 adds custom roles and data scopes)."""

from __future__ import annotations

from enum import StrEnum

from crm_platform.auth import TENANT_SCOPES, Scope


class Role(StrEnum):
    TENANT_ADMIN = "tenant_admin"
    SALES_MANAGER = "sales_manager"
    SALES_REP = "sales_rep"
    CUSTOMER_SERVICE = "customer_service"


ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.TENANT_ADMIN: frozenset(s.value for s in TENANT_SCOPES),
    Role.SALES_MANAGER: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.CUSTOMERS_WRITE,
            Scope.TAGS_READ,
            Scope.TAGS_MANAGE,
            Scope.FOLLOWUPS_READ,
            Scope.FOLLOWUPS_WRITE,
            Scope.FOLLOWUPS_MANAGE,
            Scope.REPORTS_READ,
            Scope.ORDERS_READ,
            Scope.CUSTOMERS_EXPORT,
        }
    ),
    Role.SALES_REP: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.CUSTOMERS_WRITE,
            Scope.TAGS_READ,
            Scope.FOLLOWUPS_READ,
            Scope.FOLLOWUPS_WRITE,
            Scope.ORDERS_READ,
            # The home dashboard is every role's first page (issue 11): its figures are computed
            # under the caller's data scope and field policies.
            Scope.REPORTS_READ,
        }
    ),
    Role.CUSTOMER_SERVICE: frozenset(
        {Scope.CUSTOMERS_READ, Scope.TAGS_READ, Scope.FOLLOWUPS_READ, Scope.FOLLOWUPS_WRITE, Scope.REPORTS_READ}
    ),
}


def scopes_for_roles(roles: list[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        if role in Role._value2member_map_:
            granted |= ROLE_SCOPES[Role(role)]
    return frozenset(granted)
