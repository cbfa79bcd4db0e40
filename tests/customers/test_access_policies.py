"""Field policies and data-scope conditions of crm_customers/customer/access.py (pure parts)."""

from __future__ import annotations

import uuid

from crm_customers.customer.access import apply_field_policies, scope_clause, write_errors
from crm_platform.auth import Principal
from crm_proto.crm.customers.v1 import customers_pb2 as pb


def _principal(**extra: object) -> Principal:
    return Principal(tenant_id=uuid.uuid4(), subject="u", client_id="web", scopes=frozenset(), **extra)  # type: ignore[arg-type]


def _customer() -> pb.Customer:
    message = pb.Customer(id="c1", name="Acme", mobile="13800138000", annual_revenue="1250000.00",
                          resident_id="110***********1234", version=3)
    message.employees = 12
    message.custom_fields.update({"level": "gold", "score": 7})
    return message


def test_hidden_fields_are_cleared_and_masked_ones_masked() -> None:
    caller = _principal(field_policies={
        "annual_revenue": "hidden", "mobile": "masked", "employees": "masked", "cf.level": "hidden",
        "cf.score": "masked", "resident_id": "masked", "id": "hidden", "name": "read_only",
    })
    out = apply_field_policies(caller, _customer())
    assert out.annual_revenue == "" and out.mobile == "****" and not out.HasField("employees")
    assert "level" not in out.custom_fields.fields and out.custom_fields["score"] == "****"
    assert out.resident_id == "110***********1234"  # already masked by the service
    assert out.id == "c1" and out.name == "Acme" and out.version == 3  # identity fields always travel


def test_no_policies_change_nothing() -> None:
    assert apply_field_policies(_principal(), _customer()) == _customer()


def test_writes_to_non_read_write_fields_are_refused() -> None:
    caller = _principal(field_policies={"annual_revenue": "read_only", "mobile": "masked", "cf.level": "hidden"})
    errors = write_errors(caller, {"annual_revenue": "1", "mobile": "1", "name": "x"}, {"level": "a", "other": 1})
    assert sorted((e.field, e.code) for e in errors) == [
        ("annual_revenue", "field_read_only"), ("cf.level", "field_read_only"), ("mobile", "field_read_only"),
    ]


def test_scope_conditions() -> None:
    me = uuid.uuid4()
    assert scope_clause(_principal(data_scope="all")) is None
    own = str(scope_clause(_principal(data_scope="own", user_id=me)))
    assert "owner_id" in own and "user_teams" not in own
    team = str(scope_clause(_principal(data_scope="team", user_id=me, team_ids=(str(uuid.uuid4()),))))
    assert "user_teams" in team
    # A scope that is not `all` without a user sees nothing.
    assert str(scope_clause(_principal(data_scope="own"))) == "false"
