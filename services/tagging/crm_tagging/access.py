"""Data scope on customers' tags in tagging itself (docs/access.md, "Enforcement"): reading,
applying and removing a customer's tags by hand needs a customer the caller may see, checked here
as well as by the gateway, so tagging's gRPC API does not rely on its caller for it. The same
projections and rule as followups (crm_platform/customer_scope.py): `customer_scope` from customers'
events and `user_teams` from identity's (migration tg0035), customers asked with the caller's token
when the projection does not say yes."""

from __future__ import annotations

from crm_platform.consumer import Subscription
from crm_platform.customer_scope import (
    CustomerAccess,
    CustomerDirectory,
    customer_scope_subscription,
    customer_scope_table,
)
from crm_platform.user_teams import user_teams_subscription, user_teams_table
from crm_tagging.tag.tables import metadata

CUSTOMERS_DURABLE = "tagging-customers"
USERS_DURABLE = "tagging-users"

customer_scope = customer_scope_table(metadata)
user_teams = user_teams_table(metadata)


def customer_access(directory: CustomerDirectory) -> CustomerAccess:
    return CustomerAccess(customer_scope, user_teams, directory)


def subscriptions() -> list[Subscription]:
    return [customer_scope_subscription(CUSTOMERS_DURABLE, customer_scope),
            user_teams_subscription(USERS_DURABLE, user_teams)]
