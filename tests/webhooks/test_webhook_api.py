"""WebhookService over real gRPC: the platform edge (token verification, scopes, error mapping)
in front of the servicer, against a real PostgreSQL tenant schema."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from crm_platform.auth import JwksCache, TokenVerifier
from crm_platform.db import tenant_session
from crm_platform.errors import decode_rpc_error
from crm_platform.events import CloudEvent
from crm_platform.grpc_client import call_metadata
from crm_platform.grpc_server import EdgeInterceptor, create_server
from crm_proto.crm.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from crm_webhooks.main import Components
from crm_webhooks.servicer import WebhookServicer
from tests.webhooks.webhooks_testkit import TokenIssuer

MANAGE = ["webhooks:manage"]


@pytest.fixture
async def api(
    engine: AsyncEngine, components: Components
) -> AsyncIterator[tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer]]:
    issuer = TokenIssuer()

    async def fetch_jwks() -> dict[str, Any]:
        return issuer.jwks()

    verifier = TokenVerifier(JwksCache(fetch_jwks), issuer.issuer, issuer.audience)
    server, port = create_server(EdgeInterceptor(verifier), "127.0.0.1", 0)
    servicer = WebhookServicer(engine, components.endpoint_service, components.delivery_service,
                               components.replay_service)
    webhooks_pb2_grpc.add_WebhookServiceServicer_to_server(servicer, server)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield webhooks_pb2_grpc.WebhookServiceStub(channel), issuer
    await channel.close(None)
    await server.stop(None)


def auth(issuer: TokenIssuer, tenant_id: uuid.UUID, scopes: list[str] = MANAGE) -> tuple[tuple[str, str], ...]:
    return call_metadata(issuer.token(tenant_id, scopes))


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call
    return failure.value


async def test_create_and_list_endpoints(
    api: tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer], tenant_id: uuid.UUID
) -> None:
    stub, issuer = api
    created = await stub.CreateEndpoint(
        webhooks_pb2.CreateEndpointRequest(url="https://hooks.example.com/a", event_types=["crm.tag.applied"]),
        metadata=auth(issuer, tenant_id),
    )
    assert created.secret.startswith("whsec_")
    Webhook(created.secret)  # a Standard Webhooks library accepts it as a secret
    assert created.endpoint.url == "https://hooks.example.com/a"
    assert list(created.endpoint.event_types) == ["crm.tag.applied"]
    assert created.endpoint.enabled and created.endpoint.created_at.seconds > 0

    listed = await stub.ListEndpoints(webhooks_pb2.ListEndpointsRequest(), metadata=auth(issuer, tenant_id))
    assert [e.id for e in listed.items] == [created.endpoint.id]
    assert "whsec_" not in str(listed)  # the secret is shown once only


async def test_bad_input_is_invalid_argument_with_field_errors(
    api: tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer], tenant_id: uuid.UUID
) -> None:
    stub, issuer = api
    error = await rpc_error(stub.CreateEndpoint(
        webhooks_pb2.CreateEndpointRequest(url="gopher://x", event_types=["bad"]), metadata=auth(issuer, tenant_id)
    ))
    detail = decode_rpc_error(error)
    assert (detail.status, detail.code) == (grpc.StatusCode.INVALID_ARGUMENT, "invalid_input")
    assert [(e["field"], e["code"]) for e in detail.errors] == [
        ("url", "invalid_url"), ("event_types[0]", "invalid_event_type"),
    ]
    listed = await stub.ListEndpoints(webhooks_pb2.ListEndpointsRequest(), metadata=auth(issuer, tenant_id))
    assert list(listed.items) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda stub, md: stub.CreateEndpoint(webhooks_pb2.CreateEndpointRequest(url="https://x.example"), metadata=md),
        lambda stub, md: stub.ListEndpoints(webhooks_pb2.ListEndpointsRequest(), metadata=md),
        lambda stub, md: stub.ListDeliveries(webhooks_pb2.ListDeliveriesRequest(), metadata=md),
        lambda stub, md: stub.DeleteEndpoint(webhooks_pb2.DeleteEndpointRequest(id=str(uuid.uuid4())), metadata=md),
        lambda stub, md: stub.GetDelivery(webhooks_pb2.GetDeliveryRequest(id=str(uuid.uuid4())), metadata=md),
        lambda stub, md: stub.ReplayDelivery(webhooks_pb2.ReplayDeliveryRequest(id=str(uuid.uuid4())), metadata=md),
        lambda stub, md: stub.CreateReplay(webhooks_pb2.CreateReplayRequest(endpoint_id=str(uuid.uuid4())),
                                           metadata=md),
        lambda stub, md: stub.GetReplay(webhooks_pb2.GetReplayRequest(id=str(uuid.uuid4())), metadata=md),
        lambda stub, md: stub.ListReplays(webhooks_pb2.ListReplaysRequest(endpoint_id=str(uuid.uuid4())),
                                          metadata=md),
    ],
)
async def test_every_rpc_needs_webhooks_manage(
    api: tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer], tenant_id: uuid.UUID,
    call: Callable[[webhooks_pb2_grpc.WebhookServiceStub, Any], Awaitable[Any]],
) -> None:
    stub, issuer = api
    denied = await rpc_error(call(stub, auth(issuer, tenant_id, ["customers:read"])))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    anonymous = await rpc_error(call(stub, ()))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_tenants_see_only_their_own_endpoints(
    api: tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer], tenant_id: uuid.UUID,
    new_tenant: Callable[[], uuid.UUID],
) -> None:
    stub, issuer = api
    other_tenant = new_tenant()
    mine = await stub.CreateEndpoint(
        webhooks_pb2.CreateEndpointRequest(url="https://mine.example.com"), metadata=auth(issuer, tenant_id)
    )
    theirs = await stub.ListEndpoints(webhooks_pb2.ListEndpointsRequest(), metadata=auth(issuer, other_tenant))
    assert list(theirs.items) == []
    missing = await rpc_error(stub.ListDeliveries(
        webhooks_pb2.ListDeliveriesRequest(endpoint_id=mine.endpoint.id), metadata=auth(issuer, other_tenant)
    ))
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_another_tenant_cannot_reach_deliveries_replays_or_delete(
    api: tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer], tenant_id: uuid.UUID,
    new_tenant: Callable[[], uuid.UUID], engine: AsyncEngine, components: Components,
) -> None:
    stub, issuer = api
    mine, theirs = auth(issuer, tenant_id), auth(issuer, new_tenant())
    endpoint = (await stub.CreateEndpoint(
        webhooks_pb2.CreateEndpointRequest(url="https://mine.example.com"), metadata=mine)).endpoint
    async with tenant_session(engine, tenant_id) as session:
        [delivery_id] = await components.delivery_service.fan_out(
            session, CloudEvent.new(source="test", type="crm.customer.created", tenant_id=tenant_id, data={}))
    since = Timestamp()
    since.FromSeconds(int(time.time()) - 3600)
    replay = await stub.CreateReplay(webhooks_pb2.CreateReplayRequest(endpoint_id=endpoint.id, since=since),
                                     metadata=mine)
    assert (replay.status, replay.deliveries_total, list(replay.statuses)) == ("queued", 0, ["succeeded", "dead"])

    for call in (
        stub.GetDelivery(webhooks_pb2.GetDeliveryRequest(id=str(delivery_id)), metadata=theirs),
        stub.ReplayDelivery(webhooks_pb2.ReplayDeliveryRequest(id=str(delivery_id)), metadata=theirs),
        stub.CreateReplay(webhooks_pb2.CreateReplayRequest(endpoint_id=endpoint.id, since=since), metadata=theirs),
        stub.GetReplay(webhooks_pb2.GetReplayRequest(id=replay.id), metadata=theirs),
        stub.ListReplays(webhooks_pb2.ListReplaysRequest(endpoint_id=endpoint.id), metadata=theirs),
        stub.DeleteEndpoint(webhooks_pb2.DeleteEndpointRequest(id=endpoint.id), metadata=theirs),
    ):
        assert (await rpc_error(call)).code() == grpc.StatusCode.NOT_FOUND
    # Still there for its own tenant.
    got = await stub.GetDelivery(webhooks_pb2.GetDeliveryRequest(id=str(delivery_id)), metadata=mine)
    assert (got.id, got.status, got.request_body_bytes > 0) == (str(delivery_id), "pending", True)
    listed = await stub.ListReplays(webhooks_pb2.ListReplaysRequest(endpoint_id=endpoint.id), metadata=mine)
    assert [r.id for r in listed.items] == [replay.id]
    deleted = await stub.DeleteEndpoint(webhooks_pb2.DeleteEndpointRequest(id=endpoint.id), metadata=mine)
    assert deleted.deliveries_cancelled == 1


async def test_list_deliveries_pages_and_rejects_bad_tokens(
    api: tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer], tenant_id: uuid.UUID,
    engine: AsyncEngine, components: Components,
) -> None:
    stub, issuer = api
    md = auth(issuer, tenant_id)
    created = await stub.CreateEndpoint(webhooks_pb2.CreateEndpointRequest(url="https://x.example.com"), metadata=md)
    async with tenant_session(engine, tenant_id) as session:
        for _ in range(3):
            event = CloudEvent.new(source="test", type="crm.customer.created", tenant_id=tenant_id, data={})
            await components.delivery_service.fan_out(session, event)

    first = await stub.ListDeliveries(
        webhooks_pb2.ListDeliveriesRequest(endpoint_id=created.endpoint.id, page_size=2), metadata=md
    )
    assert len(first.items) == 2 and first.next_page_token
    assert {(d.status, d.attempts, d.endpoint_id) for d in first.items} == {("pending", 0, created.endpoint.id)}
    assert first.items[0].HasField("next_attempt_at") and first.items[0].created_at.seconds > 0
    second = await stub.ListDeliveries(
        webhooks_pb2.ListDeliveriesRequest(
            endpoint_id=created.endpoint.id, page_size=2, page_token=first.next_page_token
        ),
        metadata=md,
    )
    assert len(second.items) == 1 and not second.next_page_token
    everything = await stub.ListDeliveries(webhooks_pb2.ListDeliveriesRequest(), metadata=md)
    assert len(everything.items) == 3

    for request in (
        webhooks_pb2.ListDeliveriesRequest(page_token="garbage"),
        # A token issued for one endpoint's list does not page another query.
        webhooks_pb2.ListDeliveriesRequest(page_token=first.next_page_token),
        webhooks_pb2.ListDeliveriesRequest(page_size=-1),
    ):
        error = decode_rpc_error(await rpc_error(stub.ListDeliveries(request, metadata=md)))
        assert error.status == grpc.StatusCode.INVALID_ARGUMENT
        assert error.errors[0]["field"] in ("page_token", "page_size")
