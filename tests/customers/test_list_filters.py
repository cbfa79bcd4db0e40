"""The list's filters on every standard field (docs/customers.md, "List filters"): exact filters
normalised as the field is stored, ranges on numbers, dates and custom fields, field errors with the
cleaning's own codes, hidden fields refused, page tokens bound to the filters. Through the real gRPC
list over a real tenant schema, behind the real edge interceptor."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.list_query import ListQuery
from crm_customers.customer.service import CustomerService
from crm_customers.search.filters import list_arguments
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform.db import tenant_session
from crm_platform.errors import decode_rpc_error
from crm_platform.grpc_client import call_metadata
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import customers_pb2_grpc
from tests.customers.conftest import ALL, MASTER_KEY, Metadata
from tests.support import access_token

Stub = customers_pb2_grpc.CustomerServiceStub
CREDIT_CODE = "91350100M000100Y43"

CUSTOMERS: dict[str, dict[str, str]] = {
    "a": {"name": "甲公司", "code": "A-001", "contact_person": "张伟", "mobile": "13800138000",
          "email": "Info@Acme.CN", "credit_code": CREDIT_CODE, "employees": "50", "annual_revenue": "1000000.00",
          "first_contact_date": "2024-03-01"},
    "b": {"name": "乙公司", "code": "B-002", "contact_person": "张伟明", "mobile": "13900139000",
          "phone": "010-62345678", "email": "sales@beta.com", "employees": "500", "annual_revenue": "5000000",
          "annual_revenue_currency": "USD"},
    "c": {"name": "丙公司", "code": "C-003", "contact_person": "Li Lei", "email": "c@gamma.com"},
}
CUSTOM_VALUES: dict[str, dict[str, Any]] = {
    "a": {"budget": 100, "signed_on": "2024-03-01", "tier": "gold", "floor_min": "x"},
    "b": {"budget": 2500.5, "signed_on": "2025-01-15", "tier": "silver"},
    "c": {"tier": "gold"},
}
FIELDS = [("budget", "number"), ("signed_on", "date"), ("tier", "text"), ("floor_min", "text")]

# request fields (custom fields as "cf.<key>") -> the customers it finds
MATCHES: list[tuple[dict[str, str], set[str]]] = [
    ({"code": "A-001"}, {"a"}),
    ({"code": "A-00"}, set()),                               # exact, not a prefix
    ({"contact_person": "张伟"}, {"a"}),                      # not 张伟明
    ({"contact_person": " 张伟明 "}, {"b"}),                  # trimmed as on a write
    ({"contact_person": "Li Lei"}, {"c"}),
    ({"contact_person": "li lei"}, set()),                   # exact: case matters for names
    ({"contact_person": "张"}, set()),
    ({"mobile": "138 0013 8000"}, {"a"}),                     # any accepted format -> E.164
    ({"mobile": "+86 138-0013-8000"}, {"a"}),
    ({"mobile": "１３８００１３８０００"}, {"a"}),              # full-width digits
    ({"mobile": "13800138001"}, set()),
    ({"phone": "010 6234 5678"}, {"b"}),
    ({"phone": "+861062345678"}, {"b"}),
    ({"phone": "13800138000"}, set()),                       # a's mobile is not its phone
    ({"email": "info@acme.cn"}, {"a"}),                       # case-insensitive
    ({"email": "INFO@ACME.CN"}, {"a"}),
    ({"email": "sales@BETA.com"}, {"b"}),
    ({"email": "sales@beta.co"}, set()),
    ({"credit_code": CREDIT_CODE.lower()}, {"a"}),
    ({"credit_code": "914403001922038216"}, set()),
    ({"employees_min": "100"}, {"b"}),
    ({"employees_max": "100"}, {"a"}),
    ({"employees_min": "50", "employees_max": "50"}, {"a"}),  # inclusive
    ({"employees_min": "0"}, {"a", "b"}),                     # no value: outside every range
    ({"annual_revenue_min": "1000000", "annual_revenue_currency": "CNY"}, {"a"}),
    ({"annual_revenue_min": "1000000", "annual_revenue_currency": "usd"}, {"b"}),
    ({"annual_revenue_max": "999999.99", "annual_revenue_currency": "CNY"}, set()),
    ({"annual_revenue_currency": "USD"}, {"b"}),              # alone: exact
    ({"cf.budget": "100"}, {"a"}),                            # exact still works
    ({"cf.budget_min": "100"}, {"a", "b"}),
    ({"cf.budget_min": "101"}, {"b"}),
    ({"cf.budget_max": "100"}, {"a"}),
    ({"cf.budget_min": "2500.5", "cf.budget_max": "2500.5"}, {"b"}),
    ({"cf.signed_on_min": "2024-06-01"}, {"b"}),
    ({"cf.signed_on_max": "2024-12-31"}, {"a"}),
    ({"cf.signed_on_min": "2024-03-01", "cf.signed_on_max": "2025-01-15"}, {"a", "b"}),
    ({"cf.floor_min": "x"}, {"a"}),                           # a defined key means itself, not a range
    ({"contact_person": "张伟", "mobile": "13800138000", "email": "info@acme.cn"}, {"a"}),
    ({"contact_person": "张伟", "mobile": "13900139000"}, set()),  # AND
    ({"updated_before": "2000-01-01"}, set()),
    ({"updated_after": "2000-01-01T00:00:00Z", "code": "C-003"}, {"c"}),
    # Acquired: the first contact, else the day created (b and c: today).
    ({"acquired_after": "2024-03-01", "acquired_before": "2024-03-01"}, {"a"}),  # inclusive
    ({"acquired_before": "2024-12-31"}, {"a"}),
    ({"acquired_after": "2024-03-02", "acquired_before": "2024-12-31"}, set()),
    ({"acquired_after": "2024-01-01"}, {"a", "b", "c"}),
    ({"first_contact_after": "2024-01-01"}, {"a"}),            # the field itself: only a has one
]

# request fields -> (parameter, code) of the field errors
BAD: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
    ({"mobile": "12345"}, [("mobile", "invalid_phone")]),
    ({"mobile": "010-62345678"}, [("mobile", "not_mobile")]),
    ({"phone": "call me"}, [("phone", "invalid_phone")]),
    ({"email": "not-an-email"}, [("email", "invalid_email")]),
    ({"credit_code": "123"}, [("credit_code", "invalid_credit_code")]),
    ({"credit_code": "91350100M000100Y44"}, [("credit_code", "credit_code_checksum")]),
    ({"code": "a b"}, [("code", "invalid_code")]),
    ({"employees_min": "ten"}, [("employees_min", "invalid_number")]),
    ({"employees_max": "-1"}, [("employees_max", "out_of_range")]),
    ({"annual_revenue_min": "1.234", "annual_revenue_currency": "CNY"}, [("annual_revenue_min", "invalid_decimal")]),
    ({"annual_revenue_max": "100"}, [("annual_revenue_currency", "required")]),
    ({"annual_revenue_currency": "yuan"}, [("annual_revenue_currency", "invalid_currency")]),
    ({"updated_after": "yesterday"}, [("updated_after", "invalid_date")]),
    ({"updated_before": "2024-02-30"}, [("updated_before", "invalid_date")]),
    ({"acquired_after": "2024-02-30"}, [("acquired_after", "invalid_date")]),
    ({"acquired_before": "last week"}, [("acquired_before", "invalid_date")]),
    ({"cf.budget_min": "lots"}, [("cf.budget_min", "invalid_type")]),
    ({"cf.signed_on_max": "2024-13-01"}, [("cf.signed_on_max", "invalid_date")]),
    ({"cf.tier_min": "a"}, [("cf.tier_min", "range_not_supported")]),
    ({"cf.nope_max": "1"}, [("cf.nope_max", "unknown_custom_field")]),
    ({"mobile": "x", "email": "y"}, [("mobile", "invalid_phone"), ("email", "invalid_email")]),
]


def request(page_size: int = 50, page_token: str = "", **filters: str) -> pb.ListCustomersRequest:
    custom = {k[3:]: v for k, v in filters.items() if k.startswith("cf.")}
    plain = {k: v for k, v in filters.items() if not k.startswith("cf.")}
    return pb.ListCustomersRequest(page_size=page_size, page_token=page_token, custom_fields=custom, **plain)


async def create_all(customers: Stub, metadata: Any) -> dict[str, str]:
    for key, kind in FIELDS:
        await customers.CreateCustomerField(pb.CreateCustomerFieldRequest(
            field=pb.CustomerFieldInput(key=key, label=key, type=kind)), metadata=metadata)
    ids: dict[str, str] = {}
    for name, values in CUSTOMERS.items():
        message = pb.CustomerInput(**values)
        message.custom_fields.update(CUSTOM_VALUES[name])
        created = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=message), metadata=metadata)
        ids[created.id] = name
    return ids


async def found(customers: Stub, metadata: Any, ids: dict[str, str], **filters: str) -> set[str]:
    reply = await customers.ListCustomers(request(**filters), metadata=metadata)
    return {ids.get(c.id, c.id) for c in reply.items}


async def refused(customers: Stub, metadata: Any, **filters: str) -> list[tuple[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await customers.ListCustomers(request(**filters), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return [(e["field"], e["code"]) for e in decode_rpc_error(caught.value).errors]


async def test_every_filter_matches_exactly_what_it_says(customers: Stub, as_user: Metadata) -> None:
    ids = await create_all(customers, as_user())
    assert await found(customers, as_user(), ids) == {"a", "b", "c"}
    for filters, expected in MATCHES:
        assert await found(customers, as_user(), ids, **filters) == expected, filters


async def test_acquired_today_is_the_day_created_without_a_first_contact(customers: Stub, as_user: Metadata) -> None:
    ids = await create_all(customers, as_user())
    listed = (await customers.ListCustomers(request(), metadata=as_user())).items
    created_on = {ids[c.id]: c.created_at.ToDatetime(tzinfo=UTC).date().isoformat() for c in listed}
    day = created_on["b"]
    assert await found(customers, as_user(), ids, acquired_after=day, acquired_before=day) == {
        name for name in ("b", "c") if created_on[name] == day}


async def test_updated_range_follows_the_last_change(customers: Stub, as_user: Metadata) -> None:
    # Taken before the creates (not after, less a second): under load they can take longer than that.
    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = await create_all(customers, as_user())
    by_name = {name: customer_id for customer_id, name in ids.items()}
    mark = (await customers.ListCustomers(request(), metadata=as_user())).items
    changed_after = max(c.updated_at.ToDatetime(tzinfo=UTC) for c in mark) + timedelta(microseconds=1)
    a = await customers.GetCustomer(pb.GetCustomerRequest(id=by_name["a"]), metadata=as_user())
    await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=a.id, expected_version=a.version, customer=pb.CustomerInput(notes="called back")), metadata=as_user())
    assert await found(customers, as_user(), ids, updated_after=changed_after.isoformat()) == {"a"}
    assert await found(customers, as_user(), ids, updated_before=changed_after.isoformat()) == {"b", "c"}
    assert await found(customers, as_user(), ids, updated_after=before.isoformat()) == {"a", "b", "c"}


async def test_bad_values_are_field_errors_with_the_cleanings_codes(customers: Stub, as_user: Metadata) -> None:
    await create_all(customers, as_user())
    for filters, expected in BAD:
        assert await refused(customers, as_user(), **filters) == expected, filters


async def test_filters_on_hidden_fields_are_refused(
    customers: Stub, signing_key: ECKey, tenant_id: uuid.UUID, as_user: Metadata
) -> None:
    ids = await create_all(customers, as_user())

    def with_policies(**policies: str) -> Any:
        return call_metadata(access_token(signing_key, tenant_id, ALL, fp=policies))

    hidden = with_policies(mobile="hidden", employees="hidden", annual_revenue="hidden", email="hidden",
                           **{"cf.budget": "hidden"})
    assert await refused(customers, hidden, mobile="13800138000") == [("mobile", "field_hidden")]
    assert await refused(customers, hidden, employees_min="1") == [("employees_min", "field_hidden")]
    assert await refused(customers, hidden, annual_revenue_max="1", annual_revenue_currency="CNY") == [
        ("annual_revenue_max", "field_hidden")]
    assert await refused(customers, hidden, **{"cf.budget_min": "1"}) == [("cf.budget_min", "field_hidden")]
    assert await refused(customers, hidden, email="INFO@acme.cn") == [("email", "field_hidden")]
    # The day acquired reads first_contact_date: narrowing it down would reveal a hidden date.
    no_first_contact = with_policies(first_contact_date="hidden")
    assert await refused(customers, no_first_contact, acquired_after="2024-01-01") == [
        ("acquired_after", "field_hidden")]
    assert await refused(customers, no_first_contact, first_contact_before="2024-01-01") == [
        ("first_contact_before", "field_hidden")]
    # Other filters still work for this caller; a masked field filters as today (like `q` does).
    assert await found(customers, hidden, ids, code="B-002") == {"b"}
    masked = with_policies(mobile="masked")
    assert await found(customers, masked, ids, mobile="138 0013 8000") == {"a"}


async def test_other_tenants_and_other_owners_customers_are_not_found(
    customers: Stub, signing_key: ECKey, tenant_id: uuid.UUID, as_user: Metadata,
    provision_tenant: Callable[[], uuid.UUID],
) -> None:
    ids = await create_all(customers, as_user())
    other_tenant = call_metadata(access_token(signing_key, provision_tenant(), ALL))
    assert await found(customers, other_tenant, ids, mobile="13800138000") == set()
    rep = uuid.uuid4()
    own_scope = call_metadata(access_token(signing_key, tenant_id, ALL, uid=str(rep), sub=f"user:{rep}", ds="own"))
    assert await found(customers, own_scope, ids, email="info@acme.cn") == set()
    mine = await customers.CreateCustomer(pb.CreateCustomerRequest(
        customer=pb.CustomerInput(name="丁公司", mobile="13800138000")), metadata=own_scope)
    assert await found(customers, own_scope, ids, mobile="13800138000") == {mine.id}
    assert await found(customers, as_user(), ids, mobile="13800138000") == {"a", mine.id}
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # a token without customers:read
        await customers.ListCustomers(request(mobile="13800138000"),
                                      metadata=call_metadata(access_token(signing_key, tenant_id, ["tags:read"])))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_page_tokens_are_bound_to_the_new_filters(customers: Stub, as_user: Metadata) -> None:
    ids = await create_all(customers, as_user())
    first = await customers.ListCustomers(request(page_size=1, employees_min="1"), metadata=as_user())
    rest = await customers.ListCustomers(request(page_size=1, page_token=first.next_page_token, employees_min="1"),
                                         metadata=as_user())
    assert {ids[c.id] for c in (*first.items, *rest.items)} == {"a", "b"}
    for other in ({"employees_min": "2"}, {}, {"employees_min": "1", "mobile": "13800138000"},
                  {"employees_min": "1", "cf.budget_min": "1"}):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await customers.ListCustomers(request(page_size=1, page_token=first.next_page_token, **other),
                                          metadata=as_user())
        assert decode_rpc_error(caught.value).errors[0]["code"] == "invalid_page_token", other


async def test_lists_without_the_new_filters_keep_their_fingerprint(
    engine: AsyncEngine, tenant_id: uuid.UUID
) -> None:
    """Page tokens issued before these filters existed stay valid: the fingerprint of a list that
    does not use them is computed exactly as before."""
    service = CustomerService(PageTokens("k"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))
    async with tenant_session(engine, tenant_id) as session:
        _, _, fingerprint = await service.list_filter(session, order_by="", query=ListQuery(status="won", q="x"))
        _, _, with_mobile = await service.list_filter(
            session, order_by="", query=ListQuery(status="won", q="x", mobile="13800138000"))
    before = json.dumps(["", "won", "x", "", "", "", "", "", "", "", "", False, []], ensure_ascii=False)
    assert fingerprint == hashlib.sha256(before.encode()).hexdigest()[:24]
    assert with_mobile != fingerprint


def test_saved_filter_maps_accept_the_new_keys() -> None:
    query, errors = list_arguments({"mobile": "138 0013 8000", "employees_min": "5", "annual_revenue_max": "9",
                                    "annual_revenue_currency": "CNY", "updated_after": "2024-01-01",
                                    "cf.budget_min": "1"})
    assert errors == []
    assert query == ListQuery(mobile="138 0013 8000", employees_min="5", annual_revenue_max="9",
                              annual_revenue_currency="CNY", updated_after="2024-01-01",
                              custom={"budget_min": "1"})
    _, unknown = list_arguments({"mobile_min": "1", "needs": "x", "created_by": "client:x"})
    assert [(e.field, e.code) for e in unknown] == [("filters.created_by", "unknown_filter"),
                                                    ("filters.mobile_min", "unknown_filter"),
                                                    ("filters.needs", "unknown_filter")]


async def test_a_report_cells_customers_narrow_the_list(customers: Stub, as_user: Metadata) -> None:
    """`report_cell_ids` (a report cell's customers, resolved by the gateway): ANDed with the other
    filters and the selected `ids`; an empty cell matches nothing; more than 10,000 or a bad id is
    a 400 on `report_cell`."""
    ids = await create_all(customers, as_user())
    by_name = {name: cid for cid, name in ids.items()}

    async def cell(members: list[str], **filters: Any) -> set[str]:
        reply = await customers.ListCustomers(pb.ListCustomersRequest(
            page_size=50, report_cell_ids=members, report_cell_set=True, **filters), metadata=as_user())
        return {ids.get(c.id, c.id) for c in reply.items}

    assert await cell([by_name["a"], by_name["b"]]) == {"a", "b"}
    assert await cell([by_name["a"], by_name["b"]], ids=[by_name["b"], by_name["c"]]) == {"b"}
    assert await cell([by_name["a"]], ids=[by_name["c"]]) == set()
    assert await cell([]) == set()  # an empty cell: nothing, not everything
    assert await cell([str(uuid.uuid4())]) == set()
    for members, code in (([str(uuid.uuid4()) for _ in range(10_001)], "too_many_customers"), (["x"], "invalid_id")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await customers.ListCustomers(pb.ListCustomersRequest(report_cell_ids=members, report_cell_set=True),
                                          metadata=as_user())
        assert [(e["field"], e["code"]) for e in decode_rpc_error(caught.value).errors] == [("report_cell", code)]
