"""Data scope and field policies on customers, from the verified token alone (docs/access.md,
"Enforcement"). Every customers read and write goes through these functions:

- `scope_clause`: the SQL condition "this caller may see this customer" (repository adds it to
  every get/list/update); a customer outside it is answered like a missing one (404).
- `check_owner`: a caller may only give a customer an owner inside their own data scope.
- `write_errors`: writes to fields that are not `read_write` for the caller (`field_read_only`).
- `apply_field_policies`: the one place replies lose hidden fields and show masked ones.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.schemas import WRITABLE_FIELDS
from crm_customers.customer.tables import customers, user_teams
from crm_platform.access import ALL, TEAM, can_read_field, can_write_field, field_policy
from crm_platform.auth import Principal
from crm_platform.errors import FieldError
from crm_proto.crm.customers.v1 import customers_pb2 as pb

MASK: Final = "****"
# Fields a policy can govern; identity, version and audit fields always travel.
# `annual_spend` / `lifetime_value`: read-only figures computed from orders (orders/spend.py).
GOVERNED: Final = frozenset(WRITABLE_FIELDS) | {"annual_revenue_currency", "annual_spend", "lifetime_value"}
# Already masked by the service itself (plaintext only through the audited reveal).
SELF_MASKED: Final = frozenset({"resident_id", "bank_card"})


def _team_ids(principal: Principal) -> list[uuid.UUID]:
    ids = []
    for raw in principal.team_ids:
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    return ids


def scope_clause(principal: Principal) -> sa.ColumnElement[bool] | None:
    """None for data scope `all` (client-credentials and service tokens have `all`). `team`: the
    caller's own customers and those whose owner is in one of the caller's visible teams (owner
    -> team from `user_teams`). `own`, and anything unknown: the caller's own customers only."""
    if principal.data_scope == ALL:
        return None
    own = customers.c.owner_id == principal.user_id if principal.user_id else sa.false()
    teams = _team_ids(principal) if principal.data_scope == TEAM else []
    if not teams:
        return own
    members = sa.select(user_teams.c.user_id).where(user_teams.c.team_id.in_(teams))
    return sa.or_(own, customers.c.owner_id.in_(members))


async def owner_in_scope(session: AsyncSession, principal: Principal, owner: uuid.UUID | None) -> bool:
    if principal.data_scope == ALL:
        return True
    if owner is not None and owner == principal.user_id:
        return True
    teams = _team_ids(principal) if principal.data_scope == TEAM else []
    if owner is None or not teams:
        return False
    row = (await session.execute(
        sa.select(user_teams.c.user_id).where(user_teams.c.user_id == owner, user_teams.c.team_id.in_(teams))
    )).first()
    return row is not None


async def check_owner(
    session: AsyncSession, principal: Principal, owner: uuid.UUID | None, errors: list[FieldError]
) -> None:
    """A 400 field error `owner_out_of_scope` when the new owner is outside the caller's data scope
    (a rep can only own customers themselves; a manager can assign within their teams)."""
    if not await owner_in_scope(session, principal, owner):
        errors.append(FieldError("owner_id", "owner_out_of_scope",
                                 "you can only assign customers to users in your data scope"))


def write_errors(principal: Principal, raw: dict[str, Any], custom: dict[str, Any] | None) -> list[FieldError]:
    """`field_read_only` for every sent field the caller's field policies do not allow writing
    (hidden, masked and read_only fields alike)."""
    names = [*raw, *(f"cf.{key}" for key in (custom or {}))]
    return [
        FieldError(name, "field_read_only", "your role may not change this field")
        for name in names if not can_write_field(principal, name)
    ]


def readable(principal: Principal, name: str) -> bool:
    return can_read_field(principal, name)


def apply_field_policies(principal: Principal, message: pb.Customer) -> pb.Customer:
    """Hidden fields are cleared (the gateway shows them as null), masked ones replaced by `****`
    (a masked number has no masked form: it is cleared). Works in place and returns the message."""
    for name in principal.field_policies:
        policy = field_policy(principal, name)
        if policy not in ("hidden", "masked"):
            continue
        if name.startswith("cf."):
            key = name[3:]
            if key in message.custom_fields.fields:
                if policy == "hidden":
                    del message.custom_fields[key]
                else:
                    message.custom_fields[key] = MASK
            continue
        if name not in GOVERNED:
            continue
        if policy == "masked" and name in SELF_MASKED:
            continue
        value = getattr(message, name)
        if policy == "hidden" or not isinstance(value, str):
            message.ClearField(name)
        elif value:
            setattr(message, name, MASK)
    return message
