"""Data scope on follow-up tasks through the real edge (docs/access.md, "Enforcement"): lists, get,
complete and create apply the caller's scope on the task's customer, from followups' projections
fed through the real consumer wrappers (customers' events -> `customer_scope`, identity's user
events -> `user_teams`); a customer the projection does not know yet, or says is out of scope, is
asked of customers (`Customers` in conftest stands in for it) and the answer is kept. Outside the
scope: NOT_FOUND, nothing written, no event. Cadence rules need `followups:manage`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups import access
from crm_platform.auth import Principal
from crm_platform.consumer import EventConsumer
from crm_platform.db import tenant_session
from crm_platform.events import CloudEvent, event_type
from crm_platform.grpc_client import call_metadata
from crm_proto.crm.followups.v1 import followups_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2_grpc
from tests.followups.conftest import Customers
from tests.followups.test_followups_api import WRITE, rejected, task_events, task_request
from tests.followups.test_followups_complete import completed_events
from tests.support import access_token

Metadata = tuple[tuple[str, str], ...]


def service_principal(tenant_id: uuid.UUID) -> Principal:
    """An API client of the tenant (data scope `all`), for calling the service layer directly."""
    return Principal(tenant_id=tenant_id, subject="client:test", client_id="test",
                     scopes=frozenset(WRITE), data_scope="all")


def customer_event(tenant_id: uuid.UUID, verb: str, customer_id: uuid.UUID, owner_id: uuid.UUID | None,
                   version: int) -> CloudEvent:
    customer: dict[str, Any] = {"id": str(customer_id), "version": str(version), "name": "x"}
    if owner_id is not None:
        customer["owner_id"] = str(owner_id)
    if verb == "deleted":
        customer["deleted_at"] = "2030-01-01T00:00:00Z"
    return CloudEvent.new(source="crm/customers", type=event_type("customer", verb), tenant_id=tenant_id,
                          data={"customer": customer}, subject=str(customer_id))


def user_event(tenant_id: uuid.UUID, user_id: uuid.UUID, team_id: uuid.UUID | None, version: int = 1) -> CloudEvent:
    return CloudEvent.new(source="crm/identity", type=event_type("user", "created"), tenant_id=tenant_id,
                          data={"user_id": str(user_id), "team_id": str(team_id or ""), "version": str(version)})


class World:
    """One tenant: reps A (team 1) and B (team 2), manager M of team 1, and ways to act as each."""

    def __init__(self, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, key: ECKey):
        self.engine, self.tenant_id, self.key = engine, tenant_id, key
        self.customers_consumer = EventConsumer(engine, nc, access.subscriptions()[0])
        self.users_consumer = EventConsumer(engine, nc, access.subscriptions()[1])
        self.team_1, self.team_2 = uuid.uuid4(), uuid.uuid4()
        self.rep_a, self.rep_b, self.manager = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    async def start(self) -> None:
        for user, team in ((self.rep_a, self.team_1), (self.rep_b, self.team_2), (self.manager, self.team_1)):
            assert await self.users_consumer.apply(user_event(self.tenant_id, user, team))

    def user(self, user_id: uuid.UUID, ds: str, teams: list[uuid.UUID] | None = None,
             scopes: list[str] | None = None) -> Metadata:
        return call_metadata(access_token(self.key, self.tenant_id, scopes or WRITE, uid=str(user_id),
                                          sub=f"user:{user_id}", client_id="crm-web", ds=ds,
                                          teams=[str(t) for t in teams or []]))

    @property
    def a(self) -> Metadata:
        return self.user(self.rep_a, "own")

    @property
    def b(self) -> Metadata:
        return self.user(self.rep_b, "own")

    @property
    def m(self) -> Metadata:
        return self.user(self.manager, "team", [self.team_1])

    @property
    def admin(self) -> Metadata:
        return self.user(uuid.uuid4(), "all")

    async def customer(self, owner: uuid.UUID | None, verb: str = "created", customer_id: uuid.UUID | None = None,
                       version: int = 1) -> uuid.UUID:
        customer_id = customer_id or uuid.uuid4()
        assert await self.customers_consumer.apply(customer_event(self.tenant_id, verb, customer_id, owner, version))
        return customer_id

    async def projected(self, customer_id: uuid.UUID) -> sa.Row[Any] | None:
        async with tenant_session(self.engine, self.tenant_id) as session:
            return await access.customer_access(Customers()).facts(session, customer_id)


@pytest.fixture
async def world(engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID, signing_key: ECKey) -> World:
    made = World(engine, nc, tenant_id, signing_key)
    await made.start()
    return made


async def titles(followups: followups_pb2_grpc.FollowupServiceStub, md: Metadata, **request: Any) -> set[str]:
    reply = await followups.ListTasks(pb.ListTasksRequest(page_size=500, **request), metadata=md)
    return {t.title for t in reply.items}


async def test_each_role_lists_exactly_the_tasks_of_the_customers_it_sees(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World, token_for: Callable[..., Metadata],
) -> None:
    a_customer, b_customer, m_customer = (await world.customer(world.rep_a), await world.customer(world.rep_b),
                                          await world.customer(world.manager))
    for customer, title in ((a_customer, "A's"), (b_customer, "B's"), (m_customer, "M's")):
        await followups.CreateTask(task_request(customer_id=str(customer), title=title), metadata=world.admin)

    assert await titles(followups, world.a) == {"A's"}
    assert await titles(followups, world.b) == {"B's"}
    # The manager's team (team 1) holds A and the manager; B is in team 2.
    assert await titles(followups, world.m) == {"A's", "M's"}
    assert await titles(followups, world.admin) == {"A's", "B's", "M's"}
    assert await titles(followups, token_for(world.tenant_id, WRITE)) == {"A's", "B's", "M's"}  # API client
    # The customer filter never widens the scope.
    assert await titles(followups, world.b, customer_id=str(a_customer)) == set()
    # A team token without teams, or an `own` token naming no user, sees only its own (none).
    assert await titles(followups, world.user(uuid.uuid4(), "team")) == set()


async def test_tasks_outside_the_scope_are_not_found_for_get_and_complete(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World, engine: AsyncEngine, customers: Customers,
) -> None:
    a_customer = await world.customer(world.rep_a)
    customers.declare(world.tenant_id, a_customer, world.rep_a)
    task = await followups.CreateTask(task_request(customer_id=str(a_customer), title="A's"), metadata=world.a)

    for md in (world.b, world.user(world.manager, "team", [world.team_2])):
        got = await rejected(followups.GetTask(pb.GetTaskRequest(id=task.id), metadata=md))
        done = await rejected(followups.CompleteTask(pb.CompleteTaskRequest(id=task.id), metadata=md))
        assert (got.code(), done.code()) == (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.NOT_FOUND)
        assert got.details() == done.details() == "follow-up task not found"  # like a missing one
    assert (await followups.GetTask(pb.GetTaskRequest(id=task.id), metadata=world.a)).status == "open"
    assert await completed_events(engine, world.tenant_id) == []

    assert (await followups.CompleteTask(pb.CompleteTaskRequest(id=task.id), metadata=world.m)).status == "done"
    assert len(await completed_events(engine, world.tenant_id)) == 1


async def test_creating_a_task_needs_a_customer_the_caller_sees_in_this_tenant(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World, engine: AsyncEngine, customers: Customers,
    provision_tenant: Callable[[], uuid.UUID], token_for: Callable[..., Metadata],
) -> None:
    b_customer = await world.customer(world.rep_b)
    customers.declare(world.tenant_id, b_customer, world.rep_b)
    elsewhere = provision_tenant()
    foreign = uuid.uuid4()
    customers.declare(elsewhere, foreign, None)

    refused = [
        await rejected(followups.CreateTask(task_request(customer_id=str(b_customer)), metadata=world.a)),
        await rejected(followups.CreateTask(task_request(customer_id=str(foreign)), metadata=world.admin)),
        await rejected(followups.CreateTask(task_request(customer_id=str(foreign)),
                                            metadata=token_for(world.tenant_id, WRITE))),
    ]

    assert {(e.code(), e.details()) for e in refused} == {(grpc.StatusCode.NOT_FOUND, "customer not found")}
    assert await task_events(engine, world.tenant_id) == []
    assert await titles(followups, world.admin) == set()
    # The one who may see it can.
    created = await followups.CreateTask(task_request(customer_id=str(b_customer), title="B's"), metadata=world.b)
    assert created.customer_id == str(b_customer)


async def test_a_customer_the_projection_has_not_seen_yet_is_asked_of_customers_and_kept(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World, customers: Customers,
) -> None:
    brand_new = uuid.uuid4()  # created a moment ago: its customer.created is not consumed yet
    customers.declare(world.tenant_id, brand_new, world.rep_a, version=1)

    task = await followups.CreateTask(task_request(customer_id=str(brand_new), title="new"), metadata=world.a)

    assert brand_new in customers.asked
    kept = await world.projected(brand_new)
    assert kept is not None and (kept.owner_id, kept.deleted, kept.version) == (world.rep_a, False, 1)
    # Read-your-writes: the rep's own list shows the task at once; the late event changes nothing.
    assert await titles(followups, world.a) == {"new"}
    await world.customer(world.rep_a, customer_id=brand_new, version=1)
    assert (await followups.GetTask(pb.GetTaskRequest(id=task.id), metadata=world.a)).id == task.id


async def test_owner_changes_deletion_and_restore_move_the_tasks_with_the_customer(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World, customers: Customers,
) -> None:
    customer = await world.customer(world.rep_a, version=1)
    task = await followups.CreateTask(task_request(customer_id=str(customer), title="moving"), metadata=world.a)

    await world.customer(world.rep_b, "updated", customer, version=2)
    customers.declare(world.tenant_id, customer, world.rep_b, version=2)
    assert (await titles(followups, world.a), await titles(followups, world.b)) == (set(), {"moving"})
    # An older event delivered late does not hand it back.
    await world.customer(world.rep_a, "updated", customer, version=1)
    assert (await titles(followups, world.a), await titles(followups, world.b)) == (set(), {"moving"})
    assert (await rejected(followups.GetTask(pb.GetTaskRequest(id=task.id), metadata=world.a))).code() \
        == grpc.StatusCode.NOT_FOUND

    # Soft-deleted (or merged away): nobody lists its tasks, not even data scope `all`.
    await world.customer(world.rep_b, "deleted", customer, version=3)
    customers.declare(world.tenant_id, customer, world.rep_b, deleted=True, version=3)
    assert await titles(followups, world.admin) == await titles(followups, world.b) == set()
    assert (await rejected(followups.CompleteTask(pb.CompleteTaskRequest(id=task.id), metadata=world.admin))).code() \
        == grpc.StatusCode.NOT_FOUND

    await world.customer(world.rep_b, "restored", customer, version=4)
    assert await titles(followups, world.admin) == await titles(followups, world.b) == {"moving"}


async def test_a_stale_no_is_checked_with_customers_before_refusing(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World, customers: Customers,
) -> None:
    """The projection still names rep B as the owner, but customers already moved the customer to
    rep A (its event is on the way): A's write is allowed, as customers itself would allow it."""
    customer = await world.customer(world.rep_b, version=1)
    task = await followups.CreateTask(task_request(customer_id=str(customer), title="handed over"),
                                      metadata=world.b)
    customers.declare(world.tenant_id, customer, world.rep_a, version=2)

    done = await followups.CompleteTask(pb.CompleteTaskRequest(id=task.id), metadata=world.a)

    assert done.status == "done"
    kept = await world.projected(customer)
    assert kept is not None and (kept.owner_id, kept.version) == (world.rep_a, 2)


async def test_an_erased_customer_leaves_the_projection(world: World) -> None:
    customer = await world.customer(world.rep_a)
    erased = CloudEvent.new(source="crm/customers", type="crm.customer.erased", tenant_id=world.tenant_id,
                            data={"customer_id": str(customer)}, subject=str(customer))
    assert await world.customers_consumer.apply(erased)
    assert await world.projected(customer) is None
    # A late event about it does not bring it back.
    await world.customer(world.rep_a, "updated", customer, version=5)
    assert await world.projected(customer) is None


async def test_cadence_rules_need_followups_manage(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World,
) -> None:
    rule = pb.CreateCadenceRuleRequest(tag_id=str(uuid.uuid4()), due_in_days=3, title="回访")
    writer = world.user(world.rep_a, "own", scopes=["followups:read", "followups:write"])

    denied = await rejected(followups.CreateCadenceRule(rule, metadata=writer))

    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    manager = world.user(world.manager, "team", [world.team_1], scopes=["followups:read", "followups:manage"])
    assert (await followups.CreateCadenceRule(rule, metadata=manager)).title == "回访"
    # Reading the rules stays with followups:read.
    assert len((await followups.ListCadenceRules(pb.ListCadenceRulesRequest(), metadata=writer)).items) == 1


async def test_an_import_batch_and_its_undo_reach_the_projection(
    followups: followups_pb2_grpc.FollowupServiceStub, world: World, customers: Customers,
) -> None:
    imported = [uuid.uuid4(), uuid.uuid4()]
    batch = [customer_event(world.tenant_id, "created", c, world.rep_a, 1).data["customer"] for c in imported]
    event = CloudEvent.new(source="crm/customers", type=event_type("customer", "imported"),
                           tenant_id=world.tenant_id, data={"import_id": "i", "customers": batch})
    assert await world.customers_consumer.apply(event)
    assert [(await world.projected(c)).owner_id for c in imported] == [world.rep_a, world.rep_a]  # type: ignore[union-attr]
    await followups.CreateTask(task_request(customer_id=str(imported[0]), title="imported"), metadata=world.a)
    assert await titles(followups, world.a) == {"imported"}

    gone = customer_event(world.tenant_id, "deleted", imported[0], world.rep_a, 2).data["customer"]
    undo = CloudEvent.new(source="crm/customers", type=event_type("customer", "import_reverted"),
                          tenant_id=world.tenant_id, data={"import_id": "i", "customers": [gone]})
    assert await world.customers_consumer.apply(undo)
    customers.declare(world.tenant_id, imported[0], world.rep_a, deleted=True, version=2)
    assert (await world.projected(imported[0])).deleted  # type: ignore[union-attr]
    assert await titles(followups, world.a) == set()
