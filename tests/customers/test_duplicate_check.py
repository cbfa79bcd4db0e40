"""Duplicates on create and update through the customers gRPC API against real Postgres: which
matches are reported (validation table), warn vs block, the admin override, data scope, and
updates checked against others only."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.duplicates import scoring
from crm_platform.db import tenant_schema
from crm_platform.grpc_client import call_metadata
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.support import access_token

CREDIT = "91350100M000100Y43"
OTHER_CREDIT = "91110000100000000R"
RESIDENT = "11010519491231002X"
OTHER_RESIDENT = "110105194912310038"
CARD = "6222021234561236"
BASE: dict[str, str] = {
    "name": "北京星辰科技有限公司", "mobile": "13800138000", "email": "Info@xingchen-tech.com",
    "contact_person": "李雷", "credit_code": CREDIT, "resident_id": RESIDENT, "bank_card": CARD,
}


async def _create(customers: Any, meta: Any, allow: bool = False, **fields: str) -> Any:
    return await customers.CreateCustomer(
        pb.CreateCustomerRequest(customer=pb.CustomerInput(**fields), allow_duplicates=allow), metadata=meta)


async def _count(engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text(
            f'SELECT count(*) FROM "{tenant_schema(tenant_id)}".customers'))).scalar_one())


async def _policy(customers: Any, meta: Any, value: str) -> None:
    await customers.UpdateCustomerSettings(pb.UpdateCustomerSettingsRequest(duplicate_policy=value), metadata=meta)


# (fields of the new customer, what it is matched on ([] = not reported), likely or only possible)
CASES = [
    ({"name": "甲", "mobile": "138 0013 8000"}, ["phone"], False),            # names disagree: possible
    ({"name": "甲", "phone": "+86-138-0013-8000"}, ["phone"], False),         # a phone matches a mobile
    ({"name": "甲", "email": "INFO@XINGCHEN-TECH.COM"}, ["email"], False),
    ({"name": "甲", "mobile": "13900000001", "credit_code": CREDIT.lower()}, ["credit_code"], True),
    ({"name": "甲", "mobile": "13900000001", "resident_id": "110105 19491231 002x"}, ["resident_id"], True),
    ({"name": "甲", "mobile": "13900000001", "bank_card": "6222-0212-3456-1236"}, ["bank_card"], True),
    ({"name": "（北京）星辰科技股份有限公司", "mobile": "13900000001"}, ["name"], False),  # a name alone: possible
    ({"name": "北京星辰科技", "mobile": "13900000001"}, ["name"], False),
    ({"name": "北京星辰科技", "mobile": "13900000001", "region": "北京"}, ["name"], False),  # BASE has no region
    ({"name": "ＢＥＩＪＩＮＧ星辰科技有限公司", "mobile": "13900000001"}, [], False),  # another name altogether
    ({"name": "北京星晨科技有限公司", "mobile": "13900000001", "contact_person": "李雷"},
     ["name_similar", "contact_person"], True),
    ({"name": "北京星晨科技有限公司", "email": "sales@xingchen-tech.com"}, ["name_similar", "email_domain"], True),
    ({"name": "北京星晨科技有限公司", "mobile": "13900000001"}, [], False),             # a similar name alone
    ({"name": "上海星辰科技有限公司", "mobile": "13800138000"}, ["phone"], False),      # two cities
    ({"name": "星辰科技有限公司", "mobile": "13800138000"}, ["phone", "name_similar"], True),  # the place left out
    ({"name": "北京星辰科技有限公司", "mobile": "138 0013 8000", "email": "info@xingchen-tech.com"},
     ["email", "phone", "name"], True),
    # a different credit code or resident ID vetoes everything else
    ({"name": "北京星辰科技有限公司", "mobile": "13800138000", "credit_code": OTHER_CREDIT}, [], False),
    ({"name": "北京星辰科技有限公司", "mobile": "13800138000", "resident_id": OTHER_RESIDENT}, [], False),
]


@pytest.mark.parametrize(("fields", "matched_on", "likely"), CASES)
async def test_reported_on_create(customers: Any, as_user: Any, fields: dict[str, str], matched_on: list[str],
                                  likely: bool) -> None:
    meta = as_user()
    original = await _create(customers, meta, **BASE)
    assert list(original.possible_duplicates) == []
    created = await _create(customers, meta, **fields)
    found = list(created.possible_duplicates)
    if not matched_on:
        assert found == []
        return
    [dup] = found
    assert (dup.id, dup.code, dup.name) == (original.id, original.code, original.name)
    assert list(dup.matched_on) == matched_on and not dup.outside_scope
    assert dup.likely is likely and (0.6 <= dup.confidence <= 1 if likely else 0.45 <= dup.confidence < 0.6)


async def test_switchboard_phone_is_no_evidence(customers: Any, as_user: Any) -> None:
    """A phone on more than HUB_LIMIT customers (a switchboard, an agency's number) links nothing:
    a company named like one of them is then only a possible duplicate, by its name."""
    meta = as_user()
    original = await _create(customers, meta, name="北京星辰科技有限公司", phone="010-62345678")
    twin = await _create(customers, meta, name="北京星辰科技", phone="010-62345678")
    [dup] = twin.possible_duplicates
    assert dup.id == original.id and list(dup.matched_on) == ["phone", "name"] and dup.likely
    for i in range(scoring.HUB_LIMIT - 1):
        await _create(customers, meta, name=f"代理客户{i:02d}号贸易", phone="010-62345678")
    late = await _create(customers, meta, name="北京星辰科技股份有限公司", phone="010-62345678")
    assert {d.id for d in late.possible_duplicates} == {original.id, twin.id}
    assert all(list(d.matched_on) == ["name"] and not d.likely for d in late.possible_duplicates)


async def test_a_name_many_companies_carry_is_no_evidence(customers: Any, as_user: Any) -> None:
    """"Sunrise Trading Ltd" in eleven countries: a twelfth is not even a possible duplicate of
    them by its name, but a shared phone still links it to its own record."""
    meta = as_user()
    first = await _create(customers, meta, name="Sunrise Trading Ltd", mobile="13700000000")
    second = await _create(customers, meta, name="Sunrise Trading GmbH", mobile="13700000001")
    assert [(d.id, list(d.matched_on), d.likely) for d in second.possible_duplicates] == [(first.id, ["name"], False)]
    for i in range(2, scoring.HUB_LIMIT + 1):
        await _create(customers, meta, name="Sunrise Trading Limited", mobile=f"137000000{i:02d}")
    twelfth = await _create(customers, meta, name="Sunrise Trading Inc", mobile="13600000000")
    assert list(twelfth.possible_duplicates) == []
    again = await _create(customers, meta, name="SUNRISE TRADING", mobile="13700000000")
    assert [(d.id, list(d.matched_on), d.likely) for d in again.possible_duplicates] == \
        [(first.id, ["phone", "name"], True)]


async def test_common_contact_person_corroborates_nothing(customers: Any, as_user: Any) -> None:
    meta = as_user()
    original = await _create(customers, meta, name="北京星辰科技有限公司", contact_person="张伟", mobile="13900000001")
    similar = await _create(customers, meta, name="北京星晨科技有限公司", contact_person="张伟", mobile="13900000002")
    assert [list(d.matched_on) for d in similar.possible_duplicates] == [["name_similar", "contact_person"]]
    for i in range(scoring.HUB_LIMIT):
        await _create(customers, meta, name=f"客户{i:02d}号物流", contact_person="张伟", mobile=f"137000000{i:02d}")
    again = await _create(customers, meta, name="北京星晨科技股份有限公司", contact_person="张伟", mobile="13900000003")
    assert [d.id for d in again.possible_duplicates] == [similar.id]  # equal to similar's name: possible
    assert not again.possible_duplicates[0].likely and original.id not in {d.id for d in again.possible_duplicates}


async def test_short_person_names_alone_are_not_duplicates(customers: Any, as_user: Any) -> None:
    meta = as_user()
    await _create(customers, meta, name="张伟", type="individual", mobile="13700000001")
    other = await _create(customers, meta, name="张伟", type="individual", mobile="13700000002")
    assert list(other.possible_duplicates) == []
    same_phone = await _create(customers, meta, name="张伟", type="individual", mobile="13700000001")
    assert list(same_phone.possible_duplicates[0].matched_on) == ["phone", "name"]


async def test_deleted_customers_are_not_reported(customers: Any, as_user: Any) -> None:
    meta = as_user()
    original = await _create(customers, meta, **BASE)
    await customers.DeleteCustomer(pb.DeleteCustomerRequest(id=original.id, expected_version=1), metadata=meta)
    again = await _create(customers, meta, **BASE)
    assert list(again.possible_duplicates) == []


async def test_update_checks_against_others_never_itself(customers: Any, as_user: Any) -> None:
    meta = as_user()
    a = await _create(customers, meta, **BASE)
    b = await _create(customers, meta, name="天津海河贸易有限公司", mobile="13900000002")
    assert list(b.possible_duplicates) == []
    # a key field sent again unchanged, or a non-key field: no check, nothing reported
    same = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=a.id, customer=pb.CustomerInput(mobile="138-0013-8000", notes="x"), expected_version=1), metadata=meta)
    assert list(same.possible_duplicates) == []
    moved = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=b.id, customer=pb.CustomerInput(mobile="13800138000"), expected_version=1), metadata=meta)
    assert [d.id for d in moved.possible_duplicates] == [a.id]
    assert list(moved.possible_duplicates[0].matched_on) == ["phone"]
    renamed = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=a.id, customer=pb.CustomerInput(name="北京星辰科技股份有限公司"), expected_version=2), metadata=meta)
    assert [d.id for d in renamed.possible_duplicates] == [b.id]  # b shares the phone; a is never its own


async def test_block_refuses_and_writes_nothing(customers: Any, as_user: Any, engine: AsyncEngine,
                                                tenant_id: uuid.UUID) -> None:
    meta = as_user()
    await _policy(customers, meta, "block")
    original = await _create(customers, meta, **BASE)
    before = await _count(engine, tenant_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(customers, meta, name="北京星辰科技", mobile="13800138000")
    assert caught.value.code() in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.ABORTED)
    detail = dict(caught.value.trailing_metadata())["crm-error"]
    assert "duplicate_customer" in detail and original.id in detail and '"likely": true' in detail
    assert await _count(engine, tenant_id) == before
    # an update into a duplicate is refused too, and changes nothing
    other = await _create(customers, meta, name="天津海河贸易有限公司", mobile="13900000002")
    with pytest.raises(grpc.aio.AioRpcError):
        await customers.UpdateCustomer(pb.UpdateCustomerRequest(
            id=other.id, customer=pb.CustomerInput(credit_code=CREDIT), expected_version=1), metadata=meta)
    got = await customers.GetCustomer(pb.GetCustomerRequest(id=other.id), metadata=meta)
    assert got.version == 1 and got.credit_code == ""
    # possible duplicates (a name alone, a shared email with another name) are saved and reported
    namesake = await _create(customers, meta, name="北京星辰科技", mobile="13900000001")
    assert [(d.id, d.likely) for d in namesake.possible_duplicates] == [(original.id, False)]
    moved = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
        id=other.id, customer=pb.CustomerInput(email="info@xingchen-tech.com"), expected_version=1), metadata=meta)
    assert moved.version == 2 and [list(d.matched_on) for d in moved.possible_duplicates] == [["email"]]


async def test_override_needs_customers_admin(customers: Any, as_user: Any, engine: AsyncEngine,
                                              tenant_id: uuid.UUID) -> None:
    admin = as_user()
    await _policy(customers, admin, "block")
    await _create(customers, admin, **BASE)
    before = await _count(engine, tenant_id)
    writer = as_user(["customers:read", "customers:write"])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _create(customers, writer, allow=True, name="北京星辰科技", mobile="13800138000")
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await _count(engine, tenant_id) == before
    saved = await _create(customers, admin, allow=True, name="北京星辰科技", mobile="13800138000")
    assert list(saved.possible_duplicates[0].matched_on) == ["phone", "name"]
    assert await _count(engine, tenant_id) == before + 1
    # without duplicates the override changes nothing, for anyone
    plain = await _create(customers, writer, allow=True, name="广州珠江物流有限公司", mobile="13900000003")
    assert list(plain.possible_duplicates) == []


async def test_invalid_policy_is_a_field_error(customers: Any, as_user: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _policy(customers, as_user(), "ignore")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "duplicate_policy" in dict(caught.value.trailing_metadata())["crm-error"]
    got = await customers.GetCustomerSettings(pb.GetCustomerSettingsRequest(), metadata=as_user())
    assert got.duplicate_policy == "warn"


async def test_out_of_scope_duplicates_are_reported_without_details(
    customers: Any, signing_key: ECKey, tenant_id: uuid.UUID
) -> None:
    def rep(user: uuid.UUID) -> Any:
        return call_metadata(access_token(signing_key, tenant_id, ["customers:read", "customers:write"],
                                          uid=str(user), ds="own"))

    alice, bob = uuid.uuid4(), uuid.uuid4()
    mine = await _create(customers, rep(alice), name="深圳南山电子有限公司", mobile="13600000001")
    theirs = await _create(customers, rep(bob), **BASE)
    created = await _create(customers, rep(alice), name="北京星辰科技", mobile="13600000001")
    found = list(created.possible_duplicates)
    assert [d.id for d in found] == [mine.id, ""]
    hidden = found[1]
    assert hidden.outside_scope and hidden.code == "" and hidden.name == "" and list(hidden.matched_on) == ["name"]
    assert theirs.id not in repr(found) and theirs.code not in repr(found)



async def test_block_holds_under_concurrent_writes(customers: Any, as_user: Any) -> None:
    """Five customers changed to the same phone at once under `block`: one change lands, four are
    refused (without the key locks each would find no duplicate and all five would land; creates
    happen to be serialised by the customer-code counter, updates are not)."""
    import asyncio

    meta = as_user()
    await _policy(customers, meta, "block")
    created = [await _create(customers, meta, name=f"并发客户{i}", mobile=f"1370013700{i}") for i in range(5)]
    outcomes = await asyncio.gather(
        *(customers.UpdateCustomer(pb.UpdateCustomerRequest(
            id=c.id, customer=pb.CustomerInput(mobile="13600136000"), expected_version=c.version), metadata=meta)
          for c in created),
        return_exceptions=True,
    )
    updated = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(updated) == 1 and len(refused) == 4
    assert all("duplicate_customer" in dict(r.trailing_metadata())["crm-error"] for r in refused)
    listed = await customers.ListCustomers(pb.ListCustomersRequest(q="13600136000"), metadata=meta)
    assert [c.id for c in listed.items] == [updated[0].id]
