"""The dict-based field-policy function (`crm_platform.access.redact_customer`, used by webhooks)
and the customers service's proto-based `apply_field_policies` (every API reply) follow the same
rules: the same policies applied to the same customer give the same visible values."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from google.protobuf.struct_pb2 import Struct

from crm_customers.customer.access import GOVERNED, apply_field_policies
from crm_platform.access import CUSTOMER_FIELDS, MASK, redact_customer
from crm_platform.auth import Principal
from crm_platform.events import proto_data
from crm_proto.crm.customers.v1 import customers_pb2 as pb

POLICY_SETS: list[dict[str, str]] = [
    {},
    {"annual_revenue": "hidden"},
    {"annual_revenue": "masked", "annual_revenue_currency": "masked", "employees": "masked"},
    {"annual_spend": "masked", "lifetime_value": "hidden"},
    {"email": "hidden", "mobile": "masked", "phone": "read_only", "name": "read_write"},
    {"resident_id": "masked", "bank_card": "hidden", "credit_code": "masked"},
    {"cf.tier": "hidden", "cf.budget": "masked", "cf.absent": "hidden"},
    {"notes": "bogus-policy", "id": "hidden", "version": "hidden", "created_by": "masked"},
    {name: "hidden" for name in sorted(CUSTOMER_FIELDS)},
    {name: "masked" for name in sorted(CUSTOMER_FIELDS)},
]


def sample() -> pb.Customer:
    custom = Struct()
    custom.update({"tier": "gold", "budget": 50000, "region_code": "BJ"})
    message = pb.Customer(
        id=str(uuid.uuid4()), code="HB-IT-2026-001", name="北京科技有限公司", type="enterprise", industry="IT",
        region="华北/北京", mobile="+8613800138000", phone="+861062345678", email="buyer@example.com",
        owner_id=str(uuid.uuid4()), status="intent", version=3, contact_person="王经理", source="expo",
        first_contact_date="2026-01-05", annual_revenue="1250000.00", annual_revenue_currency="CNY",
        needs="CRM", notes="VIP", credit_code="91110108MA01ABCD1X", custom_fields=custom,
        resident_id="110***********002X", bank_card="6222 **** **** 1236", created_by="u1", updated_by="u2",
    )
    message.employees = 120
    message.annual_spend.amounts["CNY"] = "36000.00"
    message.lifetime_value.amounts["CNY"] = "120000.00"
    return message


def visible(values: dict[str, Any]) -> dict[str, Any]:
    """Proto3 JSON prints cleared fields as defaults; a removed key and an empty value are the same."""
    return {k: v for k, v in values.items() if v not in ("", None, {}, [])}


def test_the_governed_fields_are_the_same() -> None:
    assert frozenset(GOVERNED) == CUSTOMER_FIELDS


@pytest.mark.parametrize("policies", POLICY_SETS)
def test_dict_and_proto_versions_agree(policies: dict[str, str]) -> None:
    principal = Principal(tenant_id=uuid.uuid4(), subject="u", client_id="web", scopes=frozenset(),
                          field_policies=policies)
    original = sample()
    by_proto = proto_data(apply_field_policies(principal, copy.deepcopy(original)))
    by_dict = redact_customer(proto_data(original), policies)
    assert visible(by_dict) == visible(by_proto)


def test_rules_in_detail() -> None:
    data = proto_data(sample())
    out = redact_customer(data, {"annual_revenue": "hidden", "mobile": "masked", "employees": "masked",
                                 "resident_id": "masked", "cf.budget": "masked", "cf.tier": "hidden",
                                 "email": "read_only"})
    assert "annual_revenue" not in out and "employees" not in out
    assert out["mobile"] == MASK and out["email"] == "buyer@example.com"
    assert out["resident_id"] == "110***********002X"
    assert out["custom_fields"] == {"budget": MASK, "region_code": "BJ"}
    assert data["mobile"] == "+8613800138000" and "tier" in data["custom_fields"]  # the input is not changed
