"""Data scope on follow-ups (docs/access.md, "Enforcement"; docs/followups.md): a task is seen,
completed or created only by callers who may see its customer, by the same rule the customers
service applies (crm_platform/customer_scope.py). Followups keeps two projections for it, each
filled by its own durable consumer: `customer_scope` (owner and deleted flag of every customer,
from customers' events) and `user_teams` (owner -> team, from identity's user events; migration
fu0035)."""

from __future__ import annotations

from crm_followups.task.tables import metadata
from crm_platform.consumer import Subscription
from crm_platform.customer_scope import (
    CustomerAccess,
    CustomerDirectory,
    customer_scope_subscription,
    customer_scope_table,
)
from crm_platform.user_teams import user_teams_subscription, user_teams_table

CUSTOMERS_DURABLE = "followups-customers"
USERS_DURABLE = "followups-users"

customer_scope = customer_scope_table(metadata)
user_teams = user_teams_table(metadata)


def customer_access(directory: CustomerDirectory) -> CustomerAccess:
    return CustomerAccess(customer_scope, user_teams, directory)


def subscriptions() -> list[Subscription]:
    return [customer_scope_subscription(CUSTOMERS_DURABLE, customer_scope),
            user_teams_subscription(USERS_DURABLE, user_teams)]
