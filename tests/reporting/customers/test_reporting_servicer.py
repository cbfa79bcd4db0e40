"""GetCustomersByIndustry over real gRPC, through the platform's edge interceptor with signed
access tokens: the tenant comes from the verified token and nothing else."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from crm_platform.auth import JwksCache, Scope, TokenVerifier
from crm_platform.db import create_engine
from crm_platform.errors import decode_rpc_error
from crm_platform.grpc_client import call_metadata
from crm_platform.grpc_server import EdgeInterceptor, create_server
from crm_proto.crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.customers.servicer import ReportingServicer
from crm_reporting.projection import EventProjector
from tests.reporting.reporting_events import customer_event

ISSUER, AUDIENCE = "crm-identity", "crm-api"
SIGNING_KEY = ECKey.generate_key("P-256", parameters={"kid": "test-key"})



def mint(tenant: uuid.UUID, scopes: list[Scope], key: ECKey = SIGNING_KEY) -> str:
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "tid": str(tenant), "client_id": "web",
        "scope": " ".join(scopes), "exp": int(time.time()) + 300,
    }
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, claims, key)


async def jwks() -> dict[str, Any]:
    return {"keys": [SIGNING_KEY.as_dict(private=False)]}


@pytest.fixture(scope="module")
async def stub(chdb_analytics: ChdbAnalytics) -> AsyncIterator[reporting_pb2_grpc.ReportingServiceStub]:
    # Reports read only the analytics store: an engine pointing nowhere proves no Postgres
    # connection is taken by the RPC's (lazy) tenant transaction.
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/nowhere")
    interceptor = EdgeInterceptor(TokenVerifier(JwksCache(jwks), ISSUER, AUDIENCE))
    server, port = create_server(interceptor, "127.0.0.1", 0)
    reporting_pb2_grpc.add_ReportingServiceServicer_to_server(ReportingServicer(engine, chdb_analytics), server)
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield reporting_pb2_grpc.ReportingServiceStub(channel)
    await server.stop(None)
    await engine.dispose()


async def get_report(
    stub: reporting_pb2_grpc.ReportingServiceStub, token: str | None
) -> reporting_pb2.GetCustomersByIndustryResponse:
    request = reporting_pb2.GetCustomersByIndustryRequest()
    return await stub.GetCustomersByIndustry(request, metadata=call_metadata(token), timeout=10)


async def test_the_report_is_of_the_token_tenant(
    stub: reporting_pb2_grpc.ReportingServiceStub, chdb_analytics: ChdbAnalytics,
    tenant: uuid.UUID, other_tenant: uuid.UUID,
) -> None:
    projector = EventProjector(chdb_analytics)
    for event in [
        customer_event(tenant, uuid.uuid4(), industry="retail"),
        customer_event(tenant, uuid.uuid4(), industry="retail"),
        customer_event(tenant, uuid.uuid4(), industry=""),
        customer_event(other_tenant, uuid.uuid4(), industry="finance"),
    ]:
        await projector.project(event)

    mine = await get_report(stub, mint(tenant, [Scope.REPORTS_READ]))
    theirs = await get_report(stub, mint(other_tenant, [Scope.REPORTS_READ]))

    assert [(r.industry, r.customers) for r in mine.rows] == [("retail", 2), ("", 1)]
    assert mine.total == 3
    assert [(r.industry, r.customers) for r in theirs.rows] == [("finance", 1)]
    assert theirs.total == 1


async def test_a_tenant_without_customers_gets_an_empty_report(
    stub: reporting_pb2_grpc.ReportingServiceStub, tenant: uuid.UUID
) -> None:
    reply = await get_report(stub, mint(tenant, [Scope.REPORTS_READ]))
    assert list(reply.rows) == [] and reply.total == 0


async def test_a_token_without_reports_read_is_refused(
    stub: reporting_pb2_grpc.ReportingServiceStub, tenant: uuid.UUID
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await get_report(stub, mint(tenant, [Scope.CUSTOMERS_READ]))
    detail = decode_rpc_error(refused.value)
    assert detail.status == grpc.StatusCode.PERMISSION_DENIED
    assert detail.code == "permission_denied"


@pytest.mark.parametrize("token", [None, "not-a-jwt"])
async def test_a_caller_without_a_valid_token_is_unauthenticated(
    stub: reporting_pb2_grpc.ReportingServiceStub, token: str | None
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await get_report(stub, token)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_token_signed_by_another_key_is_unauthenticated(
    stub: reporting_pb2_grpc.ReportingServiceStub, tenant: uuid.UUID
) -> None:
    forger = ECKey.generate_key("P-256", parameters={"kid": "test-key"})
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await get_report(stub, mint(tenant, [Scope.REPORTS_READ], key=forger))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
