"""Data scope on follow-ups (docs/access.md, "Enforcement"; docs/followups.md): a task is seen,
completed or created only by callers who may see its customer, by the same rule the customers
service applies (crm_platform/customer_scope.py). Followups keeps two projections for it, each
filled by its own durable consumer: `customer_scope` (owner and deleted flag of every customer,
from customers' events) and `user_teams` (owner -> team, from identity's user events; migration
fu0035)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from crm_followups.task.tables import metadata
from crm_platform.consumer import Subscription
from crm_platform.customer_scope import (
    CustomerAccess,
    CustomerDirectory,
    customer_scope_subscription,
    customer_scope_table,
)
from crm_platform.user_teams import user_teams_table

CUSTOMERS_DURABLE = "followups-customers"
USERS_DURABLE = "followups-users"

customer_scope = customer_scope_table(metadata)
# With what reminders need to write to a user (migration fu0111; crm_followups/reminders/users.py).
user_teams = user_teams_table(
    metadata, sa.Column("email", sa.Text, nullable=False, server_default=""),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("locale", sa.Text, nullable=False, server_default=""),
    sa.Column("time_zone", sa.Text, nullable=False, server_default=""),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    # Migration fu0120: the user's roles (a team's sales managers are told of escalations).
    sa.Column("roles", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
    # Migration fu0150: the user's access as identity announces it (crm_followups/reminders/visibility.py).
    sa.Column("access_known", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("data_scope", sa.Text, nullable=False, server_default=""),
    sa.Column("team_ids", pg.ARRAY(pg.UUID(as_uuid=True)), nullable=False, server_default="{}"),
    # Migration fu0160: the manager of the user's team (escalations go to them).
    sa.Column("team_manager_id", pg.UUID(as_uuid=True)),
    sa.Column("team_manager_known", sa.Boolean, nullable=False, server_default=sa.false()),
)


def customer_access(directory: CustomerDirectory) -> CustomerAccess:
    return CustomerAccess(customer_scope, user_teams, directory)


def subscriptions(default_zone: str = "Asia/Shanghai") -> list[Subscription]:
    """The customers projection, and the users one (kept with reminders' extra columns, which also
    (re)schedules each user's morning digest: crm_followups/reminders/users.py)."""
    from crm_followups.reminders.users import users_subscription  # reminders build on this module

    return [customer_scope_subscription(CUSTOMERS_DURABLE, customer_scope),
            users_subscription(USERS_DURABLE, default_zone)]
