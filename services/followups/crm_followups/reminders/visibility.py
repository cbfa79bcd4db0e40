"""Whether the person a reminder, digest line or escalation goes to may see the task's customer.

A task can name a customer its assignee does not see: a manager assigns it to a rep of data scope
`own` on a teammate's customer, or the customer changes hands after the task was made. The task
itself stays readable only within scope (crm_followups/access.py); what is pushed to the person
must not reveal it either, so every push asks this, by the same rule as `visible_owners`
(crm_platform/user_teams.py), from the recipient's access as identity's user events announce it
(`access_known`, `data_scope`, `team_ids`; migration fu0150):

- never a customer followups knows to be deleted;
- data scope `all`: every other customer;
- `own`: customers the recipient owns; `team`: also customers owned by a member of one of
  `team_ids` (the recipient's team and its sub-teams, as their token carries them);
- a user whose access no event has told yet (`access_known` false: an identity older than these
  fields) is treated as before them: reminded of every task assigned to them.

A customer the projection does not know yet is not visible to a restricted recipient (as in
`CustomerAccess.condition`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm_followups.access import customer_scope, user_teams
from crm_platform.access import ALL, TEAM


def recipient_sees_customer(recipient_id: sa.ColumnElement[Any],
                            customer_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """A boolean SQL expression, correlated on the two given columns (or bound values)."""
    recipient = user_teams.alias("recipient_access")
    owner = user_teams.alias("owner_team")
    known = customer_scope.alias("task_customer")
    deleted = sa.exists().where(known.c.customer_id == customer_id, known.c.deleted)
    access_unknown = ~sa.exists().where(recipient.c.user_id == recipient_id, recipient.c.access_known)
    sees_all = sa.exists().where(recipient.c.user_id == recipient_id, recipient.c.access_known,
                                 recipient.c.data_scope == ALL)
    owns = sa.exists().where(known.c.customer_id == customer_id, known.c.owner_id == recipient_id)
    # One level of EXISTS with the recipient's row in its own FROM: a nested EXISTS would not be
    # correlated with the outer query's recipient (SQLAlchemy correlates one level up), so the team
    # rule held if any task of the statement had a recipient of that team.
    in_team = (sa.exists().select_from(known.join(owner, owner.c.user_id == known.c.owner_id))
               .where(known.c.customer_id == customer_id, recipient.c.user_id == recipient_id,
                      recipient.c.access_known, recipient.c.data_scope == TEAM,
                      owner.c.team_id == sa.any_(recipient.c.team_ids)))
    return sa.and_(~deleted, sa.or_(access_unknown, sees_all, owns, in_team))
