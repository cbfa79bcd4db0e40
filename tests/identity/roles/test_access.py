"""A user's effective access from their roles: scopes, widest data scope, teams below their own,
field policies merged to the most permissive (crm_identity/roles/access.py)."""

from __future__ import annotations

from crm_identity.roles.access import (
    BUILTIN_ROLES,
    RoleDef,
    effective_access,
    field_policy_errors,
    merge_field_policies,
    team_descendants,
    widest_data_scope,
)
from crm_identity.roles.catalogue import PERMISSIONS, catalogue
from crm_identity.users.roles import ROLE_SCOPES, Role
from crm_platform.auth import TENANT_SCOPES, Scope

TREE = {"root": None, "east": "root", "shanghai": "east", "hangzhou": "east", "west": "root", "pudong": "shanghai"}


def test_catalogue_lists_every_tenant_scope_in_both_languages() -> None:
    assert set(PERMISSIONS) == {s.value for s in TENANT_SCOPES}
    assert Scope.ROLES_MANAGE.value in PERMISSIONS
    assert all(en and zh and en != zh for _, en, zh in catalogue())
    assert not any(s.startswith("system:") for s in PERMISSIONS)


def test_builtin_roles_scopes_and_data_scopes() -> None:
    assert BUILTIN_ROLES["tenant_admin"].scopes == {s.value for s in TENANT_SCOPES}
    assert Scope.ROLES_MANAGE.value in ROLE_SCOPES[Role.TENANT_ADMIN]
    assert Scope.ROLES_MANAGE.value not in BUILTIN_ROLES["sales_manager"].scopes
    assert {r: d.data_scope for r, d in BUILTIN_ROLES.items()} == {
        "tenant_admin": "all", "sales_manager": "team", "sales_rep": "own", "customer_service": "all",
    }
    assert BUILTIN_ROLES["customer_service"].field_policies["annual_revenue"] == "hidden"


def test_scopes_are_the_union_of_the_roles() -> None:
    a = RoleDef("a", frozenset({"customers:read"}), "own")
    b = RoleDef("b", frozenset({"tags:read", "customers:read"}), "own")
    assert effective_access([a, b], None, {}).scopes == {"customers:read", "tags:read"}
    assert effective_access([], None, {}).scopes == frozenset()


def test_widest_data_scope_wins() -> None:
    assert widest_data_scope(["own", "team"]) == "team"
    assert widest_data_scope(["team", "all", "own"]) == "all"
    assert widest_data_scope(["own"]) == "own"
    assert widest_data_scope([]) == "own"  # no roles: least privilege
    assert widest_data_scope(["bogus"]) == "own"


def test_team_descendants_include_the_team_and_everything_below() -> None:
    assert set(team_descendants(TREE, "east")) == {"east", "shanghai", "hangzhou", "pudong"}
    assert team_descendants(TREE, "pudong") == ["pudong"]
    assert set(team_descendants(TREE, "root")) == set(TREE)
    assert team_descendants({"a": "b", "b": "a"}, "a") == ["a", "b"]  # a cycle cannot loop forever


def test_team_scope_carries_the_visible_teams_other_scopes_none() -> None:
    manager = BUILTIN_ROLES["sales_manager"]
    rep = BUILTIN_ROLES["sales_rep"]
    access = effective_access([manager, rep], "east", TREE)
    assert access.data_scope == "team" and set(access.team_ids) == {"east", "shanghai", "hangzhou", "pudong"}
    assert effective_access([rep], "east", TREE).team_ids == ()
    assert effective_access([manager, BUILTIN_ROLES["tenant_admin"]], "east", TREE).team_ids == ()  # "all"
    assert effective_access([manager], None, TREE) == effective_access([manager], None, {})  # no team: own only
    assert effective_access([manager], None, TREE).team_ids == ()


def test_field_policies_merge_to_the_most_permissive() -> None:
    assert merge_field_policies([{"annual_revenue": "hidden"}, {"annual_revenue": "masked"}]) == {
        "annual_revenue": "masked"
    }
    # A role that does not name a field leaves it read_write, which wins.
    assert merge_field_policies([{"annual_revenue": "hidden"}, {}]) == {}
    assert merge_field_policies([{"mobile": "read_only", "email": "hidden"}, {"mobile": "hidden", "email": "hidden"}]) \
        == {"mobile": "read_only", "email": "hidden"}
    assert merge_field_policies([]) == {}
    cs = effective_access([BUILTIN_ROLES["customer_service"]], None, {})
    assert cs.field_policies["annual_revenue"] == "hidden"
    assert effective_access([BUILTIN_ROLES["customer_service"], BUILTIN_ROLES["sales_rep"]], None, {}).field_policies \
        == {}


def test_field_policy_validation() -> None:
    assert field_policy_errors({"mobile": "masked", "cf.tier": "hidden", "annual_revenue": "read_write"}) == []
    codes = {(f, c) for f, c, _ in field_policy_errors({"Bad Name": "hidden", "email": "secret"})}
    assert codes == {("field_policies.Bad Name", "invalid_field"), ("field_policies.email", "invalid_policy")}
    assert field_policy_errors({f"f{i}": "hidden" for i in range(201)})[0][1] == "too_many"
