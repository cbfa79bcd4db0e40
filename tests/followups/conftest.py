"""Real PostgreSQL and NATS JetStream on free ports for this test session, a fresh tenant schema
per test, and the follow-ups gRPC API served in-process behind the real edge interceptor (tokens
are signed with a test key whose JWKS the verifier is given)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
import pytest_asyncio
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups import access
from crm_followups.cadence.service import CadenceService
from crm_followups.main import DEFINITION
from crm_followups.servicer import FollowupServicer
from crm_followups.task.service import TaskService
from crm_platform.auth import Principal
from crm_platform.customer_scope import CustomerFacts
from crm_platform.pagination import PageTokens
from crm_platform.runtime import ServiceDefinition
from crm_proto.crm.followups.v1 import followups_pb2_grpc
from tests.support import in_process_server


@pytest.fixture(scope="package")
def service_definition() -> ServiceDefinition:
    return DEFINITION


@dataclass
class Customers:
    """Stands in for the customers service's answer to `GetCustomer` with the caller's token (the
    `CustomerDirectory` followups asks when its projection does not know a customer or says no):
    declared customers follow the data-scope rule of customers (tenant, owner, deleted); an id
    nobody declared is an existing customer of the caller's tenant visible to data scope `all`
    (the tests that do not care about scope), and to nobody else. The real service answers in
    tests/e2e."""

    declared: dict[uuid.UUID, tuple[uuid.UUID, CustomerFacts]] = field(default_factory=dict)
    asked: list[uuid.UUID] = field(default_factory=list)

    def declare(self, tenant_id: uuid.UUID, customer_id: uuid.UUID, owner_id: uuid.UUID | None,
                deleted: bool = False, version: int = 1) -> CustomerFacts:
        facts = CustomerFacts(customer_id, owner_id, deleted, version)
        self.declared[customer_id] = (tenant_id, facts)
        return facts

    async def lookup(self, principal: Principal, customer_id: uuid.UUID) -> tuple[bool, CustomerFacts | None]:
        self.asked.append(customer_id)
        entry = self.declared.get(customer_id)
        if entry is None:
            return principal.data_scope == "all", None
        tenant_id, facts = entry
        if tenant_id != principal.tenant_id or facts.deleted:
            return False, None
        if principal.data_scope != "all" and facts.owner_id != principal.user_id:
            return False, None  # team scope is not modelled here; the projection's rule is tested
        return True, facts


@pytest.fixture(scope="package")
def customers() -> Customers:
    return Customers()


@pytest.fixture(scope="package")
def task_service(customers: Customers) -> TaskService:
    return TaskService(PageTokens("test-page-token-key"), access.customer_access(customers))


@pytest.fixture(scope="package")
def cadence_service(task_service: TaskService) -> CadenceService:
    return CadenceService(task_service)


# -- tokens and the in-process gRPC server --------------------------------------------------


@pytest_asyncio.fixture(scope="package")
async def followups(
    engine: AsyncEngine, signing_key: ECKey, task_service: TaskService, cadence_service: CadenceService
) -> AsyncIterator[followups_pb2_grpc.FollowupServiceStub]:
    def register(server: grpc.aio.Server) -> None:
        followups_pb2_grpc.add_FollowupServiceServicer_to_server(
            FollowupServicer(engine, task_service, cadence_service), server
        )

    async with in_process_server(signing_key, register) as client:
        yield followups_pb2_grpc.FollowupServiceStub(client)
