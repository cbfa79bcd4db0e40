"""A user's effective access from their roles: pure functions, no I/O.

- scopes: the union of the roles' scopes;
- data scope: the widest of the roles' (own < team < all);
- field policies: per field the most permissive of the roles' (a role that does not name a field
  leaves it read_write); only fields that end up restricted are carried in the token (`fp`);
- teams visible with data scope `team`: the user's team and every team below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from crm_identity.users.roles import ROLE_SCOPES, Role
from crm_platform.auth import DATA_SCOPES, FIELD_POLICIES

READ_WRITE: Final = "read_write"
FIELD_NAME_RE: Final = re.compile(r"^(?:cf\.[a-z][a-z0-9_]{0,39}|[a-z][a-z0-9_]{0,62})$")
MAX_FIELD_POLICIES: Final = 200


@dataclass(frozen=True)
class RoleDef:
    id: str
    scopes: frozenset[str]
    data_scope: str
    field_policies: Mapping[str, str] = field(default_factory=dict)


BUILTIN_DATA_SCOPES: Final[dict[Role, str]] = {
    Role.TENANT_ADMIN: "all",
    Role.SALES_MANAGER: "team",
    Role.SALES_REP: "own",
    Role.CUSTOMER_SERVICE: "all",
}
# Customer service answers every customer but never sees spend figures.
BUILTIN_FIELD_POLICIES: Final[dict[Role, dict[str, str]]] = {
    Role.TENANT_ADMIN: {},
    Role.SALES_MANAGER: {},
    Role.SALES_REP: {},
    Role.CUSTOMER_SERVICE: {"annual_revenue": "hidden", "annual_spend": "hidden", "lifetime_value": "hidden"},
}
BUILTIN_ROLES: Final[dict[str, RoleDef]] = {
    role.value: RoleDef(role.value, ROLE_SCOPES[role], BUILTIN_DATA_SCOPES[role], BUILTIN_FIELD_POLICIES[role])
    for role in Role
}


@dataclass(frozen=True)
class Access:
    scopes: frozenset[str]
    data_scope: str
    team_ids: tuple[str, ...]
    field_policies: dict[str, str]


def widest_data_scope(scopes: Iterable[str]) -> str:
    """The widest of the given data scopes; `own` when there are none."""
    rank = [DATA_SCOPES.index(s) for s in scopes if s in DATA_SCOPES]
    return DATA_SCOPES[max(rank)] if rank else "own"


def merge_field_policies(roles: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Per field the most permissive policy across the roles; read_write results are left out."""
    role_list = list(roles)
    if not role_list:
        return {}
    fields = {name for policies in role_list for name in policies}
    merged: dict[str, str] = {}
    for name in sorted(fields):
        best = max(FIELD_POLICIES.index(p.get(name, READ_WRITE)) for p in role_list)
        if FIELD_POLICIES[best] != READ_WRITE:
            merged[name] = FIELD_POLICIES[best]
    return merged


def team_descendants(parents: Mapping[str, str | None], root: str) -> list[str]:
    """`root` and every team below it, given each team's parent (cycles are tolerated)."""
    children: dict[str, list[str]] = {}
    for team, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(team)
    found: list[str] = []
    stack = [root]
    while stack:
        team = stack.pop()
        if team in found:
            continue
        found.append(team)
        stack.extend(sorted(children.get(team, []), reverse=True))
    return found


def effective_access(roles: Iterable[RoleDef], team_id: str | None, parents: Mapping[str, str | None]) -> Access:
    role_list = list(roles)
    scopes = frozenset(s for r in role_list for s in r.scopes)
    data_scope = widest_data_scope(r.data_scope for r in role_list)
    team_ids: tuple[str, ...] = ()
    if data_scope == "team" and team_id is not None:
        team_ids = tuple(team_descendants(parents, team_id))
    return Access(scopes, data_scope, team_ids, merge_field_policies(r.field_policies for r in role_list))


def field_policy_errors(policies: Mapping[str, object]) -> list[tuple[str, str, str]]:
    """(field, code, message) for each bad entry of a field-policy map."""
    errors: list[tuple[str, str, str]] = []
    if len(policies) > MAX_FIELD_POLICIES:
        errors.append(("field_policies", "too_many", f"at most {MAX_FIELD_POLICIES} fields"))
    for name, policy in policies.items():
        if not FIELD_NAME_RE.match(name):
            errors.append((f"field_policies.{name}", "invalid_field", "not a customer field name"))
        elif policy not in FIELD_POLICIES:
            errors.append((f"field_policies.{name}", "invalid_policy", "hidden, masked, read_only or read_write"))
    return errors
