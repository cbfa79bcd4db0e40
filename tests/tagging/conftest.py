"""Real PostgreSQL and NATS JetStream on free ports for this test session, a fresh tenant schema
per test, and the tagging gRPC API served in-process behind the real edge interceptor (tokens
are signed with a test key whose JWKS the verifier is given)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.pagination import PageTokens
from crm_platform.runtime import ServiceDefinition
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging import access
from crm_tagging.autotag.service import AutoTagService
from crm_tagging.main import DEFINITION
from crm_tagging.servicer import TaggingServicer
from crm_tagging.tag.service import TagService
from tests.support import Customers, in_process_server


@pytest.fixture(scope="package")
def service_definition() -> ServiceDefinition:
    return DEFINITION


@pytest.fixture(scope="package")
def customers() -> Customers:
    return Customers()


@pytest.fixture(scope="package")
def tag_service(customers: Customers) -> TagService:
    return TagService(PageTokens("test-page-token-key"), access.customer_access(customers))


@pytest.fixture(scope="package")
def autotag_service(tag_service: TagService) -> AutoTagService:
    return AutoTagService(tag_service)


# -- tokens and the in-process gRPC server --------------------------------------------------


@pytest_asyncio.fixture(scope="package")
async def tagging(
    engine: AsyncEngine, signing_key: ECKey, tag_service: TagService, autotag_service: AutoTagService
) -> AsyncIterator[tagging_pb2_grpc.TaggingServiceStub]:
    def register(server: grpc.aio.Server) -> None:
        tagging_pb2_grpc.add_TaggingServiceServicer_to_server(
            TaggingServicer(engine, tag_service, autotag_service), server
        )

    async with in_process_server(signing_key, register) as client:
        yield tagging_pb2_grpc.TaggingServiceStub(client)
