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
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.schemas import WRITABLE_FIELDS
from crm_customers.customer.tables import customers, user_teams
from crm_platform.access import ALL, can_read_field, can_write_field, field_policy
from crm_platform.auth import Principal
from crm_platform.errors import FieldError
from crm_platform.user_teams import visible_owners, visible_team_ids
from crm_proto.crm.customers.v1 import customers_pb2 as pb

MASK: Final = "****"
# Fields a policy can govern; identity, version and audit fields always travel.
# `annual_spend` / `lifetime_value`: read-only figures computed from orders (orders/spend.py).
GOVERNED: Final = frozenset(WRITABLE_FIELDS) | {"annual_revenue_currency", "annual_spend", "lifetime_value"}
# Already masked by the service itself (plaintext only through the audited reveal).
SELF_MASKED: Final = frozenset({"resident_id", "bank_card"})


def scope_clause(principal: Principal) -> sa.ColumnElement[bool] | None:
    """None for data scope `all` (client-credentials and service tokens have `all`). `team`: the
    caller's own customers and those whose owner is in one of the caller's visible teams (owner
    -> team from `user_teams`). `own`, and anything unknown: the caller's own customers only."""
    rule = scope_rule(principal)
    return None if rule is None else scope_condition(*rule)


# The data scope as the shape of its condition (whether it has the caller's own customers, whether
# it has their teams') and the values: statements built once per shape (a hot read's
# `DriverStatement`) take the values as parameters.
ScopeShape = tuple[bool, bool]


def scope_rule(principal: Principal) -> tuple[ScopeShape, dict[str, Any]] | None:
    """`scope_clause`'s rule: None for `all`, else the condition's shape and its values."""
    if principal.data_scope == ALL:
        return None
    teams = visible_team_ids(principal)
    return (principal.user_id is not None, bool(teams)), {"scope_user": principal.user_id, "scope_teams": teams}


def scope_condition(shape: ScopeShape, values: dict[str, Any] | None = None) -> sa.ColumnElement[bool]:
    """The condition of a shape, with `values` bound (anonymous parameters, so one statement may
    hold it twice), or without (parameters `scope_user` and `scope_teams`, given at each run)."""
    with_user, with_teams = shape

    def parameter(name: str, kind: Any) -> sa.BindParameter[Any]:
        if values is None:
            return sa.bindparam(name, type_=kind)
        return sa.bindparam(name, values[name], type_=kind, unique=True)

    own = customers.c.owner_id == parameter("scope_user", pg.UUID(as_uuid=True)) if with_user else sa.false()
    if not with_teams:
        return own
    members = sa.select(user_teams.c.user_id).where(
        user_teams.c.team_id == sa.any_(parameter("scope_teams", pg.ARRAY(pg.UUID(as_uuid=True)))))
    return sa.or_(own, customers.c.owner_id.in_(members))


async def list_scope_clause(session: AsyncSession, principal: Principal) -> sa.ColumnElement[bool] | None:
    """`scope_clause` for lists: the visible owners read first (crm_platform/user_teams.py, the rule
    reporting applies too), so the condition is a list of ids the planner can size and serve from
    the owner indexes (an `IN (subquery)` it cannot size sent a manager's filtered search down the
    wrong index: docs/benchmarks.md)."""
    return owners_clause(await list_scope_owners(session, principal))


async def list_scope_owners(session: AsyncSession, principal: Principal) -> list[uuid.UUID] | None:
    """The owners whose customers the caller may list; None for every customer (`all`)."""
    return await visible_owners(session, user_teams, principal)


def owners_clause(owners: list[uuid.UUID] | None) -> sa.ColumnElement[bool] | None:
    """`list_scope_clause` of these owners."""
    if owners is None:
        return None
    return customers.c.owner_id.in_(owners) if owners else sa.false()


async def owner_in_scope(session: AsyncSession, principal: Principal, owner: uuid.UUID | None) -> bool:
    if principal.data_scope == ALL:
        return True
    if owner is not None and owner == principal.user_id:
        return True
    teams = visible_team_ids(principal)
    if owner is None or not teams:
        return False
    row = (await session.execute(
        sa.select(user_teams.c.user_id).where(user_teams.c.user_id == owner, user_teams.c.team_id.in_(teams))
    )).first()
    return row is not None


async def check_owner(
    session: AsyncSession, principal: Principal, owner: uuid.UUID | None, errors: list[FieldError]
) -> None:
    """A 400 field error when the new owner is outside the caller's data scope
    (`owner_out_of_scope`: a rep can only own customers themselves; a manager can assign within
    their teams) or is a disabled user (`owner_disabled`: they keep the customers they have, but
    get no new ones)."""
    if not await owner_in_scope(session, principal, owner):
        errors.append(FieldError("owner_id", "owner_out_of_scope",
                                 "you can only assign customers to users in your data scope"))
    elif owner is not None and await _disabled(session, owner):
        errors.append(FieldError("owner_id", "owner_disabled", "this user is disabled and cannot own customers"))


async def _disabled(session: AsyncSession, user_id: uuid.UUID) -> bool:
    row = (await session.execute(sa.select(user_teams.c.disabled).where(user_teams.c.user_id == user_id))).first()
    return bool(row and row.disabled)


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


def owner_candidates(principal: Principal) -> sa.ColumnElement[bool]:
    """Over `user_teams`: the users `check_owner` accepts as a new owner for this caller, minus
    disabled ones (they keep their customers but are not offered): `all` everyone, `team` the caller
    and the members of the caller's visible teams, `own` the caller alone."""
    enabled = user_teams.c.disabled.is_(False)
    if principal.data_scope == ALL:
        return enabled
    own = user_teams.c.user_id == principal.user_id if principal.user_id else sa.false()
    teams = visible_team_ids(principal)
    if teams:
        own = sa.or_(own, user_teams.c.team_id.in_(teams))
    return sa.and_(enabled, own)
