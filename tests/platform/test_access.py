"""Row and field access from the principal alone (crm_platform/access.py) and the token claims
that feed it (`ds`, `teams`, `fp` parsed by TokenVerifier)."""

from __future__ import annotations

import uuid

import pytest

from crm_platform.access import (
    can_read_field,
    can_write_field,
    field_policy,
    visible_owner_filter,
    visible_team_filter,
)
from crm_platform.auth import Principal, Scope
from crm_platform.errors import PermissionDenied, Unauthenticated
from tests.platform.test_auth import Keys, _key, _token, _verifier

USER = uuid.uuid4()


def _principal(**kw: object) -> Principal:
    kw.setdefault("scopes", frozenset())
    return Principal(tenant_id=uuid.uuid4(), subject="s", client_id="c", **kw)  # type: ignore[arg-type]


def test_owner_filter_by_data_scope() -> None:
    assert visible_owner_filter(_principal(user_id=USER, data_scope="own")) == {str(USER)}
    assert visible_owner_filter(_principal(data_scope="own")) == set()  # no user: nothing
    assert visible_owner_filter(_principal(user_id=USER, data_scope="all")) is None
    assert visible_owner_filter(_principal(user_id=USER, data_scope="team", team_ids=("t1",))) is None
    assert visible_owner_filter(_principal()) is None  # API clients act for the tenant


def test_team_filter_by_data_scope() -> None:
    assert visible_team_filter(_principal(user_id=USER, data_scope="team", team_ids=("t1", "t2"))) == {"t1", "t2"}
    assert visible_team_filter(_principal(user_id=USER, data_scope="team")) == set()
    assert visible_team_filter(_principal(user_id=USER, data_scope="own")) is None
    assert visible_team_filter(_principal(data_scope="all")) is None


def test_field_policies() -> None:
    p = _principal(field_policies={"annual_revenue": "hidden", "mobile": "masked", "email": "read_only"})
    assert field_policy(p, "annual_revenue") == "hidden" and not can_read_field(p, "annual_revenue")
    assert can_read_field(p, "mobile") and not can_write_field(p, "mobile")
    assert can_read_field(p, "email") and not can_write_field(p, "email")
    assert field_policy(p, "name") == "read_write" and can_write_field(p, "name")
    assert field_policy(_principal(field_policies={"x": "weird"}), "x") == "hidden"  # unknown: safest


def test_require_any() -> None:
    p = _principal(scopes=frozenset({"users:manage"}))
    p.require_any(Scope.ROLES_MANAGE, Scope.USERS_MANAGE)
    with pytest.raises(PermissionDenied):
        p.require_any(Scope.ROLES_MANAGE, Scope.CLIENTS_MANAGE)


async def test_claims_are_parsed_into_the_principal() -> None:
    key = _key()
    verifier = _verifier(Keys(key))
    user = str(uuid.uuid4())
    principal = await verifier.verify(
        _token(key, uid=user, ds="team", teams=["a", "b"], fp={"annual_revenue": "hidden"})
    )
    assert principal.data_scope == "team" and principal.team_ids == ("a", "b")
    assert dict(principal.field_policies) == {"annual_revenue": "hidden"}


async def test_missing_claims_default_by_token_kind() -> None:
    key = _key()
    verifier = _verifier(Keys(key))
    client = await verifier.verify(_token(key))  # client credentials: acts for the tenant
    assert client.data_scope == "all" and client.team_ids == () and dict(client.field_policies) == {}
    user = await verifier.verify(_token(key, uid=str(uuid.uuid4())))  # a user token without `ds`
    assert user.data_scope == "own"


@pytest.mark.parametrize("claims", [{"ds": "everything"}, {"ds": "all", "teams": "a"}, {"ds": "all", "fp": []},
                                    {"ds": "all", "fp": {"mobile": "visible"}}])
async def test_malformed_access_claims_are_refused(claims: dict[str, object]) -> None:
    key = _key()
    with pytest.raises(Unauthenticated):
        await _verifier(Keys(key)).verify(_token(key, **claims))
