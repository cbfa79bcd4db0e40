"""Data scope on reports (docs/reporting.md, "Data scope"): each report counts only the customers the
token's `ds` lets the caller see, by each customer's current owner in the customers projection and
the owner -> team map kept from identity's user events. Real PostgreSQL (reporting's tenant schema,
migrated), real chDB, the gRPC API in-process behind the real edge interceptor."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import pytest_asyncio
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import decode_rpc_error
from crm_platform.events import CloudEvent
from crm_platform.grpc_client import call_metadata
from crm_platform.user_teams import visible_owners
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb
from crm_proto.crm.reporting.v1 import reporting_pb2_grpc
from crm_reporting.analytics import Analytics, TenantQuery
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.customers.service import customer_service
from crm_reporting.customers.servicer import ReportingServicer
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.orders.service import order_reports
from crm_reporting.orders.tables import ORDERS
from crm_reporting.projection import EventProjector
from crm_reporting.scope.service import ReportScope, users_subscription
from crm_reporting.scope.tables import user_teams
from tests.reporting.orders.test_spend_reports import order_event
from tests.reporting.reporting_events import customer_event
from tests.support import access_token, in_process_server, new_signing_key

SPEND = pb.GetSpendReportRequest(from_month="2026-01", to_month="2026-03")
VALUE = pb.GetCustomerValueReportRequest(currency="CNY", limit=100)


@pytest_asyncio.fixture(scope="module")
async def stub(engine: AsyncEngine, signing_key: ECKey,
               chdb_analytics: ChdbAnalytics) -> AsyncIterator[reporting_pb2_grpc.ReportingServiceStub]:
    def register(server: grpc.aio.Server) -> None:
        reporting_pb2_grpc.add_ReportingServiceServicer_to_server(ReportingServicer(engine, chdb_analytics), server)

    async with in_process_server(signing_key, register) as channel:
        yield reporting_pb2_grpc.ReportingServiceStub(channel)


def user_event(tenant: uuid.UUID, user: uuid.UUID, team: uuid.UUID | None, version: int) -> CloudEvent:
    return CloudEvent.new(source="crm.identity", type="crm.user.updated", tenant_id=tenant, data={
        "user_id": str(user), "team_id": str(team or ""), "roles": ["sales_rep"], "version": str(version),
        "display_name": "", "disabled": False,
    })


async def record_users(engine: AsyncEngine, tenant: uuid.UUID, *events: CloudEvent) -> None:
    """Through the `reporting-users` consumer's handler, in a tenant transaction as the consumer runs it."""
    handler = users_subscription().handler
    for event in events:
        async with tenant_session(engine, tenant) as session:
            await handler(event, session)


@dataclass
class Org:
    """Team A (manager, a1) with sub-team A2 (a2), team B (b1), an admin in no team; one customer
    each plus one without an owner, each with one paid order of a distinct amount."""

    tenant: uuid.UUID
    teams: dict[str, uuid.UUID]
    users: dict[str, uuid.UUID]
    customers: dict[str, uuid.UUID]  # owner (or "nobody") -> customer id


AMOUNTS = {"manager": "1.00", "a1": "10.00", "a2": "100.00", "b1": "1000.00", "admin": "10000.00",
           "nobody": "100000.00"}
INDUSTRIES = {"manager": "IT", "a1": "retail", "a2": "retail", "b1": "finance", "admin": "IT", "nobody": "energy"}


async def project(analytics: Analytics, *events: CloudEvent) -> None:
    projector = EventProjector(analytics)
    for event in events:
        await projector.project(event)


async def make_org(engine: AsyncEngine, analytics: ChdbAnalytics, tenant: uuid.UUID) -> Org:
    teams = {name: uuid.uuid4() for name in ("A", "A2", "B")}
    users = {name: uuid.uuid4() for name in ("manager", "a1", "a2", "b1", "admin")}
    home = {"manager": teams["A"], "a1": teams["A"], "a2": teams["A2"], "b1": teams["B"], "admin": None}
    await record_users(engine, tenant, *(user_event(tenant, users[who], home[who], 1) for who in users))
    customers = {who: uuid.uuid4() for who in AMOUNTS}
    events = []
    for who, customer in customers.items():
        owner = str(users[who]) if who in users else ""
        events.append(customer_event(tenant, customer, industry=INDUSTRIES[who], owner_id=owner))
        events.append(order_event(tenant, uuid.uuid4(), customer, amount=AMOUNTS[who], day="2026-02-03"))
    await project(analytics, *events)
    return Org(tenant, teams, users, customers)


@pytest_asyncio.fixture
async def org(engine: AsyncEngine, chdb_analytics: ChdbAnalytics, tenant_id: uuid.UUID) -> Org:
    return await make_org(engine, chdb_analytics, tenant_id)


Token = Callable[..., tuple[tuple[str, str], ...]]


@pytest.fixture
def token(signing_key: ECKey, org: Org) -> Token:
    def make(who: str | None, ds: str, teams: list[str] | None = None, *, tenant: uuid.UUID | None = None,
             scopes: list[str] | None = None, key: ECKey | None = None, **claims: Any) -> Any:
        if who is not None:
            claims |= {"uid": str(org.users[who]), "sub": f"user:{org.users[who]}"}
        claims |= {"ds": ds, "teams": [str(org.teams[t]) for t in teams or []]}
        return call_metadata(access_token(key or signing_key, tenant or org.tenant, scopes or ["reports:read"],
                                          **claims))

    return make


@dataclass(frozen=True)
class Reports:
    industries: dict[str, int]
    total: int
    spend: list[tuple[str, str, int]]  # (month, amount, orders)
    value: set[str]  # customer ids


async def reports(stub: reporting_pb2_grpc.ReportingServiceStub, metadata: Any) -> Reports:
    industry = await stub.GetCustomersByIndustry(pb.GetCustomersByIndustryRequest(), metadata=metadata, timeout=30)
    spend = await stub.GetSpendReport(SPEND, metadata=metadata, timeout=30)
    value = await stub.GetCustomerValueReport(VALUE, metadata=metadata, timeout=30)
    return Reports(
        industries={r.industry: r.customers for r in industry.rows}, total=industry.total,
        spend=[(r.month, r.amount, r.orders) for r in spend.rows], value={r.customer_id for r in value.rows},
    )


def expected(org: Org, *owners: str) -> Reports:
    industries: dict[str, int] = {}
    for who in owners:
        industries[INDUSTRIES[who]] = industries.get(INDUSTRIES[who], 0) + 1
    amount = sum(float(AMOUNTS[who]) for who in owners)
    return Reports(industries=industries, total=len(owners),
                   spend=[("2026-02", f"{amount:.2f}", len(owners))] if owners else [],
                   value={str(org.customers[who]) for who in owners})


async def test_each_report_counts_only_the_callers_data_scope(
    stub: reporting_pb2_grpc.ReportingServiceStub, org: Org, token: Token, signing_key: ECKey
) -> None:
    # own: a rep whose role grants reports:read sees their own customer only.
    assert await reports(stub, token("a1", "own")) == expected(org, "a1")
    assert await reports(stub, token("b1", "own")) == expected(org, "b1")
    # team: the token lists the manager's team and its sub-team; the manager's own customer counts too.
    assert await reports(stub, token("manager", "team", ["A", "A2"])) == expected(org, "manager", "a1", "a2")
    # A manager whose token lists only team A does not see sub-team A2's customers.
    assert await reports(stub, token("manager", "team", ["A"])) == expected(org, "manager", "a1")
    # team without teams: own customers only.
    assert await reports(stub, token("b1", "team")) == expected(org, "b1")
    # all: every customer, with or without an owner; a client-credentials token (no user) too.
    everyone = expected(org, *AMOUNTS)
    assert await reports(stub, token("admin", "all")) == everyone
    client = call_metadata(access_token(signing_key, org.tenant, ["reports:read"]))
    assert await reports(stub, client) == everyone
    # An `own` token that names no user sees nothing.
    assert await reports(stub, token(None, "own")) == expected(org)


async def test_another_tenant_never_counts(
    stub: reporting_pb2_grpc.ReportingServiceStub, engine: AsyncEngine, chdb_analytics: ChdbAnalytics,
    provision_tenant: Callable[[], uuid.UUID], org: Org, token: Token,
) -> None:
    # The other tenant's customer is owned by the same user id as a1's (ids are only unique per
    # tenant as far as reports know), and its team map says a1 is in team A there too.
    other = provision_tenant()
    await record_users(engine, other, user_event(other, org.users["a1"], org.teams["A"], 1))
    stranger = uuid.uuid4()
    await project(chdb_analytics, customer_event(other, stranger, industry="retail", owner_id=str(org.users["a1"])),
                  order_event(other, uuid.uuid4(), stranger, amount="5.00", day="2026-02-03"))
    assert await reports(stub, token("a1", "own")) == expected(org, "a1")
    assert await reports(stub, token("manager", "team", ["A", "A2"])) == expected(org, "manager", "a1", "a2")
    assert await reports(stub, token("admin", "all")) == expected(org, *AMOUNTS)
    theirs = await reports(stub, token("a1", "own", tenant=other))
    assert theirs.value == {str(stranger)} and theirs.total == 1


async def test_team_moves_and_owner_changes_follow_events(
    stub: reporting_pb2_grpc.ReportingServiceStub, engine: AsyncEngine, chdb_analytics: ChdbAnalytics, org: Org,
    token: Token,
) -> None:
    manager = token("manager", "team", ["A", "A2"])
    # a2 moves to team B (version 2); a late copy of the old version changes nothing.
    await record_users(engine, org.tenant, user_event(org.tenant, org.users["a2"], org.teams["B"], 2),
                       user_event(org.tenant, org.users["a2"], org.teams["A2"], 1))
    assert await reports(stub, manager) == expected(org, "manager", "a1")
    # b1's customer is reassigned to a1 (customer.updated, version 2): it follows its new owner.
    await project(chdb_analytics, customer_event(org.tenant, org.customers["b1"], verb="updated", version=2,
                                                 industry=INDUSTRIES["b1"], owner_id=str(org.users["a1"])))
    a1 = await reports(stub, token("a1", "own"))
    assert a1.value == {str(org.customers["a1"]), str(org.customers["b1"])} and a1.total == 2
    assert a1.spend == [("2026-02", "1010.00", 2)]
    assert await reports(stub, token("b1", "own")) == expected(org)
    # Deleting a customer removes it from customers-by-industry (its orders stay in spend, as for `all`).
    await project(chdb_analytics, customer_event(org.tenant, org.customers["a1"], verb="deleted", version=2,
                                                 industry=INDUSTRIES["a1"], owner_id=str(org.users["a1"])))
    a1 = await reports(stub, token("a1", "own"))
    assert a1.total == 1 and a1.spend == [("2026-02", "1010.00", 2)]


async def test_the_owner_map_resolves_like_customers_scope_clause(engine: AsyncEngine, org: Org) -> None:
    def principal(who: str | None, ds: str, teams: list[str]) -> Principal:
        return Principal(tenant_id=org.tenant, subject="s", client_id="web", scopes=frozenset(),
                         user_id=org.users[who] if who else None, data_scope=ds,
                         team_ids=(*(str(org.teams[t]) for t in teams), "not-a-uuid"))

    async with tenant_session(engine, org.tenant) as session:
        assert await visible_owners(session, user_teams, principal("admin", "all", [])) is None
        assert await visible_owners(session, user_teams, principal("a1", "own", ["A"])) == [org.users["a1"]]
        team = await visible_owners(session, user_teams, principal("manager", "team", ["A", "A2"]))
        assert team is not None and team[0] == org.users["manager"]
        assert set(team) == {org.users[w] for w in ("manager", "a1", "a2")} and len(team) == 3
        assert await visible_owners(session, user_teams, principal(None, "own", [])) == []
        assert await visible_owners(session, user_teams, principal("b1", "team", [])) == [org.users["b1"]]


async def test_scoped_queries_stay_parameterised_and_tenant_bound(org: Org) -> None:
    owners = (str(org.users["a1"]), "x') OR 1=1 --")
    built = ReportScope(owners).by_customer(TenantQuery(ORDERS, org.tenant, final=True).select("count()")).build()
    assert built.sql == (
        "SELECT count()\nFROM orders FINAL\nWHERE tenant_id = {tenant_id:UUID} AND (customer_id IN "
        "(SELECT customer_id\nFROM customers FINAL\nWHERE tenant_id = {tenant_id:UUID} AND "
        "(owner_id IN {scope_owners:Array(String)})))"
    )
    assert built.params == {"tenant_id": org.tenant, "scope_owners": list(owners)}
    assert "OR 1=1" not in built.sql
    other = TenantQuery(CUSTOMERS, uuid.uuid4(), final=True).select("customer_id")
    with pytest.raises(ValueError, match="same tenant"):
        TenantQuery(ORDERS, org.tenant).select("count()").where_in("customer_id", other)
    with pytest.raises(ValueError, match="different value"):
        (ReportScope(("a",)).by_customer(TenantQuery(ORDERS, org.tenant).select("count()"))
         .where("has({scope_owners:Array(String)}, status)", scope_owners=["b"]))


async def test_scoped_reports_on_both_backends(analytics: Analytics, tenant: uuid.UUID) -> None:
    """The array parameter and the IN subquery bind the same on chDB and through clickhouse-connect."""
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    customers = {mine: uuid.uuid4(), theirs: uuid.uuid4()}
    await project(analytics, *(e for owner, customer in customers.items() for e in (
        customer_event(tenant, customer, industry="retail", owner_id=str(owner)),
        order_event(tenant, uuid.uuid4(), customer, amount="12.50", day="2026-02-03"))))
    scope = ReportScope((str(mine),))
    by_industry = await customer_service.customers_by_industry(analytics, tenant, scope)
    assert by_industry.total == 1
    spend = await order_reports.spend_by_month(analytics, tenant, from_month="2026-02", to_month="2026-02",
                                               currency="", scope=scope)
    assert [(r.amount, r.orders) for r in spend.rows] == [("12.50", 1)]
    _, top = await order_reports.customer_value(analytics, tenant, currency="CNY", limit=10, scope=scope)
    assert [r.customer_id for r in top] == [str(customers[mine])]
    _, nobody = await order_reports.customer_value(analytics, tenant, currency="CNY", limit=10,
                                                   scope=ReportScope(()))
    assert nobody == []


@pytest.mark.parametrize("case", ["missing_scope", "expired", "forged", "no_token"])
async def test_refused_tokens_still_refused(stub: reporting_pb2_grpc.ReportingServiceStub, org: Org, token: Token,
                                            case: str) -> None:
    metadata = {
        "missing_scope": lambda: token("manager", "team", ["A"], scopes=["customers:read"]),
        "expired": lambda: token("manager", "team", ["A"], exp=int(time.time()) - 120),
        "forged": lambda: token("manager", "team", ["A"], key=new_signing_key()),
        "no_token": lambda: call_metadata(None),
    }[case]()
    for method, request in ((stub.GetCustomersByIndustry, pb.GetCustomersByIndustryRequest()),
                            (stub.GetSpendReport, SPEND), (stub.GetCustomerValueReport, VALUE)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await method(request, metadata=metadata, timeout=30)
        expected_code = (grpc.StatusCode.PERMISSION_DENIED if case == "missing_scope"
                         else grpc.StatusCode.UNAUTHENTICATED)
        assert refused.value.code() == expected_code
        if case == "missing_scope":
            assert decode_rpc_error(refused.value).code == "permission_denied"
