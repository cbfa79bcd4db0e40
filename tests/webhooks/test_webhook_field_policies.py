"""Field policies on webhook endpoints (an endpoint never sends more than the person who set it up
may see) and customer erasure in the webhooks service, against a real PostgreSQL tenant schema, the
real consumer handler and the real gRPC edge."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import JwksCache, TokenVerifier
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import decode_rpc_error
from crm_platform.events import CloudEvent
from crm_platform.grpc_client import call_metadata
from crm_platform.grpc_server import EdgeInterceptor, create_server
from crm_proto.crm.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from crm_webhooks.delivery.events import subscription
from crm_webhooks.delivery.service import endpoint_payload
from crm_webhooks.delivery.tables import deliveries, delivery_attempts
from crm_webhooks.dispatch.repository import Claimed
from crm_webhooks.dispatch.tables import webhook_queue
from crm_webhooks.main import Components
from crm_webhooks.servicer import WebhookServicer
from tests.webhooks.webhooks_testkit import TokenIssuer

MANAGE = ["webhooks:manage"]
ROLE_POLICIES = {"annual_revenue": "hidden", "credit_code": "masked", "resident_id": "masked",
                 "employees": "masked", "cf.tier": "hidden", "cf.budget": "masked", "notes": "read_only"}


def customer(customer_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    """A customer as customers puts it in event data (proto3 JSON, int64 as a string)."""
    return {
        "id": str(customer_id), "code": "CUS-2026-000001", "name": "北京科技有限公司", "type": "enterprise",
        "mobile": "+8613800138000", "email": "buyer@example.com", "annual_revenue": "1250000.00",
        "annual_revenue_currency": "CNY", "credit_code": "91110108MA01ABCD1X", "employees": "120",
        "resident_id": "110***********002X", "bank_card": "", "notes": "VIP", "version": "3",
        "custom_fields": {"tier": "gold", "budget": 50000, "region_code": "BJ"}, **changes,
    }


def event(tenant_id: uuid.UUID, event_type: str, data: dict[str, Any], subject: uuid.UUID) -> CloudEvent:
    return CloudEvent.new(source="crm/customers", type=event_type, tenant_id=tenant_id, data=data,
                          subject=str(subject))


async def deliver(engine: AsyncEngine, components: Components, tenant_id: uuid.UUID, e: CloudEvent) -> None:
    """What the `webhooks` consumer does with one event (inside its inbox transaction)."""
    handler = subscription(components.delivery_service).handler
    async with tenant_session(engine, tenant_id) as session:
        await handler(e, session)


async def stored(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Any]:
    async with tenant_session(engine, tenant_id) as session:
        return list(await session.execute(sa.select(deliveries).order_by(deliveries.c.id)))


async def test_customer_payloads_follow_the_creators_policies_and_hidden_fields(
    engine: AsyncEngine, components: Components, tenant_id: uuid.UUID
) -> None:
    async with tenant_session(engine, tenant_id) as session:
        restricted = await components.endpoint_service.create(
            session, tenant_id, url="https://hooks.example.com/a", event_types=[],
            hidden_fields=["email"], field_policies=ROLE_POLICIES, set_by="user-1",
        )
        await components.endpoint_service.create(session, tenant_id, url="https://hooks.example.com/b",
                                                 event_types=[])
    cid = uuid.uuid4()
    await deliver(engine, components, tenant_id, event(
        tenant_id, "crm.customer.updated",
        {"customer": customer(cid), "changed_fields": ["email", "annual_revenue", "name", "cf.tier"]}, cid,
    ))
    rows = await stored(engine, tenant_id)
    by_endpoint = {r.endpoint_id: r.payload["data"] for r in rows}
    sent = by_endpoint[restricted.endpoint.id]["customer"]
    assert "annual_revenue" not in sent and "email" not in sent  # hidden by the role / by the endpoint
    assert sent["credit_code"] == "****"
    assert sent["resident_id"] == "110***********002X"  # masked by customers already
    assert "employees" not in sent  # a number has no masked form
    assert sent["custom_fields"] == {"budget": "****", "region_code": "BJ"}
    assert sent["notes"] == "VIP" and sent["name"] == "北京科技有限公司" and sent["id"] == str(cid)
    assert by_endpoint[restricted.endpoint.id]["changed_fields"] == ["name"]
    # An endpoint made by a token without policies gets the record as customers emitted it.
    unrestricted = next(d for e, d in by_endpoint.items() if e != restricted.endpoint.id)
    assert unrestricted["customer"] == customer(cid)


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


async def test_endpoint_keeps_its_creators_policies_until_an_admin_updates_it(
    api: tuple[webhooks_pb2_grpc.WebhookServiceStub, TokenIssuer], tenant_id: uuid.UUID
) -> None:
    stub, issuer = api
    restricted = call_metadata(issuer.token(tenant_id, MANAGE, uid=str(uuid.uuid4()), ds="all",
                                            fp={"annual_revenue": "hidden", "mobile": "masked"}))
    admin_id = uuid.uuid4()
    admin = call_metadata(issuer.token(tenant_id, MANAGE, uid=str(admin_id), ds="all", fp={}))
    created = await stub.CreateEndpoint(webhooks_pb2.CreateEndpointRequest(
        url="https://hooks.example.com/x", hidden_fields=["email", "cf.tier", "email"]), metadata=restricted)
    endpoint = created.endpoint
    assert list(endpoint.hidden_fields) == ["email", "cf.tier"]
    assert dict(endpoint.field_policies) == {"annual_revenue": "hidden", "mobile": "masked", "email": "hidden",
                                             "cf.tier": "hidden"}
    got = await stub.GetEndpoint(webhooks_pb2.GetEndpointRequest(id=endpoint.id), metadata=admin)
    assert dict(got.field_policies) == dict(endpoint.field_policies)

    # An admin's update replaces the token policies with the admin's; hidden_fields stay unless sent.
    updated = await stub.UpdateEndpoint(webhooks_pb2.UpdateEndpointRequest(id=endpoint.id, enabled=False),
                                        metadata=admin)
    assert dict(updated.field_policies) == {"email": "hidden", "cf.tier": "hidden"}
    assert updated.policies_set_by == str(admin_id) and not updated.enabled
    cleared = await stub.UpdateEndpoint(webhooks_pb2.UpdateEndpointRequest(
        id=endpoint.id, replace_hidden_fields=True), metadata=admin)
    assert list(cleared.hidden_fields) == [] and dict(cleared.field_policies) == {}

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await stub.UpdateEndpoint(webhooks_pb2.UpdateEndpointRequest(
            id=endpoint.id, replace_hidden_fields=True, hidden_fields=["email", "salary", "cf.Bad"]), metadata=admin)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = decode_rpc_error(bad.value)
    assert [(e["field"], e["code"]) for e in detail.errors] == [("hidden_fields[1]", "invalid_field"),
                                                                   ("hidden_fields[2]", "invalid_field")]
    # Nothing of the refused update was written.
    again = await stub.GetEndpoint(webhooks_pb2.GetEndpointRequest(id=endpoint.id), metadata=admin)
    assert list(again.hidden_fields) == []
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetEndpoint(webhooks_pb2.GetEndpointRequest(id=str(uuid.uuid4())), metadata=admin)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.UpdateEndpoint(webhooks_pb2.UpdateEndpointRequest(id=endpoint.id),
                                  metadata=call_metadata(issuer.token(tenant_id, ["customers:read"])))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_erasure_cancels_and_purges_deliveries_about_the_customer(
    engine: AsyncEngine, components: Components, tenant_id: uuid.UUID
) -> None:
    async with tenant_session(engine, tenant_id) as session:
        endpoint = await components.endpoint_service.create(session, tenant_id, url="https://hooks.example.com/e",
                                                            event_types=[])
    gone, kept = uuid.uuid4(), uuid.uuid4()
    first = event(tenant_id, "crm.customer.created", {"customer": customer(gone)}, gone)
    await deliver(engine, components, tenant_id, first)
    await deliver(engine, components, tenant_id, event(tenant_id, "crm.customer.updated",
                                                       {"customer": customer(gone, name="新名字")}, gone))
    await deliver(engine, components, tenant_id, event(tenant_id, "crm.customer.created", {"customer": customer(kept)},
                                                       kept))
    async with tenant_session(engine, tenant_id) as session:  # the first one went out already
        sent = await session.execute(sa.update(deliveries).where(deliveries.c.event_id == first.id)
                                     .values(status="succeeded", attempts=1).returning(deliveries.c.id))
        [sent_id] = sent.scalars()
        # ... and its receiver echoed the customer in its answer (kept in the delivery log).
        await session.execute(sa.insert(delivery_attempts).values(
            id=uuid.uuid4(), delivery_id=sent_id, number=1, trigger="event", attempted_at=sa.func.now(),
            duration_ms=5, url="https://hooks.example.com/e", status_code=200,
            response_headers={"content-type": "application/json"},
            response_body_excerpt=f'{{"received": "{gone}"}}'))

    erased = event(tenant_id, "crm.customer.erased", {"customer_id": str(gone)}, gone)
    await deliver(engine, components, tenant_id, erased)
    # A late event about the erased customer (e.g. redelivered after a failure) makes no delivery.
    await deliver(engine, components, tenant_id, event(tenant_id, "crm.customer.updated",
                                                       {"customer": customer(gone, version="4")}, gone))

    rows = {r.event_type + ":" + (r.payload.get("subject") or "purged"): r for r in await stored(engine, tenant_id)}
    assert set(rows) == {"crm.customer.created:purged", "crm.customer.updated:purged",
                         f"crm.customer.created:{kept}", f"crm.customer.erased:{gone}"}
    delivered, pending = rows["crm.customer.created:purged"], rows["crm.customer.updated:purged"]
    assert (delivered.status, delivered.payload, delivered.attempts) == ("succeeded", {}, 1)
    assert (pending.status, pending.payload) == ("cancelled", {})
    assert delivered.payload_purged_at is not None and pending.payload_purged_at is not None
    assert rows[f"crm.customer.created:{kept}"].payload["data"]["customer"]["id"] == str(kept)
    assert rows[f"crm.customer.erased:{gone}"].payload["data"] == {"customer_id": str(gone)}
    # The cancelled delivery left the queue, and a claim taken before that finds nothing to send.
    async with control_session(engine) as session:
        queued = set((await session.execute(sa.select(webhook_queue.c.delivery_id))).scalars())
    assert pending.id not in queued and rows[f"crm.customer.created:{kept}"].id in queued
    claimed = Claimed(pending.id, tenant_id, pending.endpoint_id, 0, "event", uuid.uuid4())
    async with tenant_session(engine, tenant_id) as session:
        assert await components.delivery_service.prepare_attempt(session, claimed) is None
    assert endpoint.endpoint.id == pending.endpoint_id
    # The log keeps the attempt (time, status), not what the receiver said about the customer.
    async with tenant_session(engine, tenant_id) as session:
        [attempt] = (await session.execute(sa.select(delivery_attempts))).all()
    assert (attempt.status_code, attempt.response_body_excerpt, attempt.response_headers) == (200, "", {})


def _order_event(tenant_id: uuid.UUID) -> CloudEvent:
    return CloudEvent.new(source="crm/customers", type="crm.order.recorded", tenant_id=tenant_id, data={
        "order_id": "o1", "external_id": "ERP-1", "customer_id": "c1", "kind": "order", "amount": "1300.50",
        "currency": "CNY", "ordered_on": "2026-11-01", "status": "paid", "version": 1, "moved": False,
    })


@pytest.mark.parametrize("policy", ["hidden", "masked"])
def test_order_amounts_follow_the_spend_policy(policy: str) -> None:
    event = _order_event(uuid.uuid4())
    data = endpoint_payload(event, {"annual_spend": policy})["data"]
    assert "amount" not in data and data["amount_hidden"] is True
    assert data["currency"] == "CNY" and data["status"] == "paid"


def test_order_amounts_reach_endpoints_whose_creator_may_see_spend() -> None:
    event = _order_event(uuid.uuid4())
    data = endpoint_payload(event, {"annual_revenue": "hidden"})["data"]
    assert data["amount"] == "1300.50" and "amount_hidden" not in data
