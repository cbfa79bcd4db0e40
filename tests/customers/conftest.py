"""Real PostgreSQL (and NATS) from tests/support.py, a fresh tenant schema per test, and the
customers gRPC API served in-process behind the real edge interceptor."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
import pytest_asyncio
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.customer.service import CustomerService
from crm_customers.customer.servicer import CustomerServicer
from crm_customers.main import DEFINITION
from crm_customers.sensitive.keys import LocalKeyWrapper
from crm_customers.sensitive.service import SensitiveFields
from crm_platform.grpc_client import call_metadata
from crm_platform.pagination import PageTokens
from crm_platform.runtime import ServiceDefinition
from crm_proto.crm.customers.v1 import customers_pb2_grpc
from tests.support import access_token, in_process_server

ALL = ["customers:read", "customers:write", "customers:admin"]
MASTER_KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture(scope="package")
def service_definition() -> ServiceDefinition:
    return DEFINITION


@pytest_asyncio.fixture(scope="package")
async def customers(engine: AsyncEngine, signing_key: ECKey) -> AsyncIterator[customers_pb2_grpc.CustomerServiceStub]:
    def register(server: grpc.aio.Server) -> None:
        customers_pb2_grpc.add_CustomerServiceServicer_to_server(
            CustomerServicer(engine, CustomerService(PageTokens("test-page-token-key"),
                                            SensitiveFields(LocalKeyWrapper(MASTER_KEY)))), server
        )

    async with in_process_server(signing_key, register) as client:
        yield customers_pb2_grpc.CustomerServiceStub(client)


Metadata = Callable[..., tuple[tuple[str, str], ...]]


@pytest.fixture
def as_user(signing_key: ECKey, tenant_id: uuid.UUID) -> Metadata:
    """Call metadata for this test's tenant; all customer scopes unless given."""

    def make(scopes: list[str] | None = None) -> tuple[tuple[str, str], ...]:
        return call_metadata(access_token(signing_key, tenant_id, scopes or ALL))

    return make
