"""Owners by name: the `customers-users` projection of identity's user events (names, disabled flag,
versions kept right when events arrive out of order), `owner_name` on customer replies (and not
when field policies hide the owner), `ListCustomerOwners` per data scope, and owner names in the
timeline. Real PostgreSQL; the gRPC API in-process behind the real edge interceptor."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.activity.service import ActivityService, actor_names
from crm_customers.customer.service import CustomerService
from crm_customers.customer.users import record_user
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.events import CloudEvent
from crm_platform.grpc_client import call_metadata
from crm_platform.pagination import PageTokens
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from crm_proto.crm.customers.v1 import customers_pb2_grpc
from tests.customers.conftest import ALL, MASTER_KEY
from tests.support import access_token


def user_event(tenant_id: uuid.UUID, user_id: uuid.UUID, version: int, name: str, *, team: uuid.UUID | None = None,
               disabled: bool = False, verb: str = "updated") -> CloudEvent:
    return CloudEvent.new(source="crm.identity", type=f"crm.user.{verb}", tenant_id=tenant_id, data={
        "user_id": str(user_id), "team_id": str(team or ""), "roles": ["sales_rep"], "version": str(version),
        "display_name": name, "disabled": disabled,
    })


async def record(engine: AsyncEngine, tenant_id: uuid.UUID, *events: CloudEvent) -> None:
    for event in events:
        async with tenant_session(engine, tenant_id) as session:
            await record_user(event, session)


async def owners(customers: customers_pb2_grpc.CustomerServiceStub, metadata: Any, **request: Any) -> list[str]:
    """Names of every owner the caller may pick, following pages."""
    names: list[str] = []
    token = ""
    while True:
        reply = await customers.ListCustomerOwners(
            pb.ListCustomerOwnersRequest(page_token=token, **request), metadata=metadata)
        names += [o.display_name for o in reply.items]
        token = reply.next_page_token
        if not token:
            return names


Token = Callable[..., tuple[tuple[str, str], ...]]


@pytest.fixture
def token(signing_key: ECKey, tenant_id: uuid.UUID) -> Token:
    def make(user: uuid.UUID | None = None, scopes: list[str] | None = None, **claims: Any) -> Any:
        if user is not None:
            claims["uid"] = str(user)
            claims.setdefault("sub", f"user:{user}")
        return call_metadata(access_token(signing_key, tenant_id, scopes or ALL, **claims))

    return make


async def test_projection_keeps_the_newest_name_whatever_the_order(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                                   customers: Any, token: Token) -> None:
    user = uuid.uuid4()
    await record(engine, tenant_id, user_event(tenant_id, user, 2, "Wang Fang"))
    made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="星辰科技", mobile="13800138000", owner_id=str(user))), metadata=token())
    assert made.owner_name == "Wang Fang"
    await record(engine, tenant_id,
                 user_event(tenant_id, user, 3, "王芳（销售二部）", disabled=True),
                 user_event(tenant_id, user, 1, "王芳", verb="created"))  # late and older: ignored
    got = await customers.GetCustomer(pb.GetCustomerRequest(id=made.id), metadata=token())
    assert got.owner_name == "王芳（销售二部）"  # a disabled owner keeps the customer, by name
    assert (await owners(customers, token())) == []  # version 3 disabled the user
    await record(engine, tenant_id, user_event(tenant_id, user, 4, "王芳"))
    assert (await owners(customers, token())) == ["王芳"]
    got = await customers.GetCustomer(pb.GetCustomerRequest(id=made.id), metadata=token())
    listed = await customers.ListCustomers(pb.ListCustomersRequest(), metadata=token())
    assert got.owner_name == "王芳" and [c.owner_name for c in listed.items] == ["王芳"]


async def test_owner_name_follows_the_owner_field_policy(engine: AsyncEngine, tenant_id: uuid.UUID, customers: Any,
                                                         token: Token) -> None:
    user = uuid.uuid4()
    await record(engine, tenant_id, user_event(tenant_id, user, 1, "李雷"))
    made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="星辰科技", mobile="13800138000", owner_id=str(user))), metadata=token())
    for policy in ("hidden", "masked"):
        seen = await customers.GetCustomer(pb.GetCustomerRequest(id=made.id),
                                           metadata=token(fp={"owner_id": policy}))
        assert seen.owner_name == "" and seen.owner_id in ("", "****")


async def test_candidates_per_data_scope(engine: AsyncEngine, tenant_id: uuid.UUID, provision_tenant: Any,
                                         customers: Any, token: Token, signing_key: ECKey) -> None:
    team_a, team_b, below_a = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    people = {name: uuid.uuid4() for name in ("Ann", "Bob", "Cid", "Dee", "Eve", "Fay")}
    await record(engine, tenant_id,
                 user_event(tenant_id, people["Ann"], 1, "Ann", team=team_a),
                 user_event(tenant_id, people["Bob"], 1, "Bob", team=team_a),
                 user_event(tenant_id, people["Cid"], 1, "Cid", team=below_a),
                 user_event(tenant_id, people["Dee"], 1, "Dee", team=team_b),
                 user_event(tenant_id, people["Eve"], 1, "Eve", team=team_a, disabled=True),
                 user_event(tenant_id, people["Fay"], 1, "Fay"))
    # Another tenant's users with the same teams are never listed.
    other = provision_tenant()
    await record(engine, other, user_event(other, uuid.uuid4(), 1, "Stranger", team=team_a))

    own = token(people["Bob"], ds="own")
    team = token(people["Ann"], ds="team", teams=[str(team_a), str(below_a)])
    assert await owners(customers, own) == ["Bob"]
    assert await owners(customers, team) == ["Ann", "Bob", "Cid"]
    assert await owners(customers, token(people["Fay"], ds="all")) == ["Ann", "Bob", "Cid", "Dee", "Fay"]
    assert await owners(customers, token()) == ["Ann", "Bob", "Cid", "Dee", "Fay"]  # an API client: all
    # Paging gives the same people; the prefix is case-insensitive and LIKE characters are literal.
    assert await owners(customers, token(), page_size=2) == ["Ann", "Bob", "Cid", "Dee", "Fay"]
    assert await owners(customers, team, q="b") == ["Bob"]
    assert await owners(customers, token(), q="%") == []

    # Everyone listed is accepted as a new owner; Eve (disabled) is not offered and Dee (team B)
    # is refused for the team manager, as the list says.
    made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
        name="星辰科技", mobile="13800138000")), metadata=team)
    for who in ("Bob", "Cid", "Ann"):
        made = await customers.UpdateCustomer(pb.UpdateCustomerRequest(
            id=made.id, customer=pb.CustomerInput(owner_id=str(people[who])), expected_version=made.version),
            metadata=team)
        assert made.owner_name == who
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await customers.UpdateCustomer(pb.UpdateCustomerRequest(
            id=made.id, customer=pb.CustomerInput(owner_id=str(people["Dee"])), expected_version=made.version),
            metadata=team)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "owner_out_of_scope" in dict(refused.value.trailing_metadata())["crm-error"]
    # A disabled user keeps what they own but gets nothing new, whoever assigns.
    for caller in (team, token()):
        with pytest.raises(grpc.aio.AioRpcError) as disabled:
            await customers.UpdateCustomer(pb.UpdateCustomerRequest(
                id=made.id, customer=pb.CustomerInput(owner_id=str(people["Eve"])), expected_version=made.version),
                metadata=caller)
        assert disabled.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "owner_disabled" in dict(disabled.value.trailing_metadata())["crm-error"]

    stranger = call_metadata(access_token(signing_key, other, ALL))
    assert await owners(customers, stranger) == ["Stranger"]


async def test_candidates_bad_input_and_scope(customers: Any, token: Token) -> None:
    for request, field in ((pb.ListCustomerOwnersRequest(page_token="forged"), "page_token"),
                           (pb.ListCustomerOwnersRequest(q="x" * 101), "q"),
                           (pb.ListCustomerOwnersRequest(page_size=-1), "page_size")):
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await customers.ListCustomerOwners(request, metadata=token())
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        detail = json.loads(dict(bad.value.trailing_metadata())["crm-error"])
        assert [e["field"] for e in detail["errors"]] == [field]
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await customers.ListCustomerOwners(pb.ListCustomerOwnersRequest(), metadata=token(scopes=["tags:read"]))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_timeline_names_people(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    admin_id, new_owner = uuid.uuid4(), uuid.uuid4()
    await record(engine, tenant_id, user_event(tenant_id, admin_id, 1, "管理员"),
                 user_event(tenant_id, new_owner, 1, "韩梅梅"))
    admin = Principal(tenant_id=tenant_id, subject=f"user:{admin_id}", client_id="web",
                      scopes=frozenset(ALL), user_id=admin_id, data_scope="all")
    service = CustomerService(PageTokens("k"), SensitiveFields(LocalKeyWrapper(MASTER_KEY)))
    async with tenant_session(engine, tenant_id) as session:
        c = await service.create(session, admin, {"name": "星辰科技", "mobile": "13800138000"})
    async with tenant_session(engine, tenant_id) as session:
        await service.update(session, admin, str(c.id), {"owner_id": str(new_owner)}, c.version)
    async with tenant_session(engine, tenant_id) as session:
        entries, _ = await ActivityService(PageTokens("k"), service).list(session, admin, str(c.id), [], 10, "")
        names = await actor_names(session, entries)
    assert {names[row.actor] for row, _ in entries} == {"管理员"}
    owner_change = next(data for row, data in entries if row.kind == "owner_changed")
    assert owner_change["changes"] == [{"field": "owner_id", "from": str(admin_id), "to": str(new_owner),
                                        "from_name": "管理员", "to_name": "韩梅梅"}]


async def test_chinese_names_in_pinyin_order_and_found_by_pinyin(engine: AsyncEngine, tenant_id: uuid.UUID,
                                                                 customers: Any, token: Token) -> None:
    await record(engine, tenant_id, *(user_event(tenant_id, uuid.uuid4(), 1, name)
                                      for name in ("张伟", "王芳", "Li Lei", "安娜")))
    assert await owners(customers, token()) == ["安娜", "Li Lei", "王芳", "张伟"]  # anna, li lei, wangfang, zhangwei
    assert await owners(customers, token(), q="wang") == ["王芳"]
    assert await owners(customers, token(), q="王") == ["王芳"]
    assert await owners(customers, token(), q="li") == ["Li Lei"]
    assert await owners(customers, token(), page_size=1) == ["安娜", "Li Lei", "王芳", "张伟"]
