"""Real PostgreSQL and NATS JetStream on free ports for this test session, a fresh tenant schema
per test, and the follow-ups gRPC API served in-process behind the real edge interceptor (tokens
are signed with a test key whose JWKS the verifier is given)."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
from crm_platform.pagination import PageTokens
from crm_platform.runtime import ServiceDefinition
from crm_proto.crm.followups.v1 import followups_pb2_grpc
from tests.support import Customers, in_process_server

__all__ = ["Customers"]


@pytest.fixture(scope="package")
def service_definition() -> ServiceDefinition:
    return DEFINITION


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
