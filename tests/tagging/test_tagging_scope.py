"""Data scope on customers' tags in tagging itself (its gRPC API no longer relies on the gateway
having asked customers first): reading, applying and removing tags by hand on a customer outside
the caller's scope, or another tenant's, is NOT_FOUND and writes nothing; the projection is fed
through the real consumer wrapper, and an unseen customer is asked of customers (`Customers`)."""

from __future__ import annotations

import uuid

import grpc
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.consumer import EventConsumer
from crm_platform.events import CloudEvent, event_type
from crm_platform.grpc_client import call_metadata
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging import access
from tests.support import Customers, access_token
from tests.tagging.test_tagging_api import rejected
from tests.tagging.test_tagging_manual import TokenFor, make_tag, tag_events

SCOPES = ["customers:read", "customers:write", "tags:read"]


async def test_tags_by_hand_only_on_customers_in_the_callers_scope(
    tagging: tagging_pb2_grpc.TaggingServiceStub, engine: AsyncEngine, nc: NATS, tenant_id: uuid.UUID,
    token_for: TokenFor, signing_key: ECKey, customers: Customers, provision_tenant: object,
) -> None:
    vip = await make_tag(tagging, token_for, tenant_id)
    rep_a, rep_b = uuid.uuid4(), uuid.uuid4()

    def rep(user: uuid.UUID) -> tuple[tuple[str, str], ...]:
        return call_metadata(access_token(signing_key, tenant_id, SCOPES, uid=str(user), ds="own"))

    mine = uuid.uuid4()
    consumer = EventConsumer(engine, nc, access.subscriptions()[0])
    assert await consumer.apply(CloudEvent.new(
        source="crm/customers", type=event_type("customer", "created"), tenant_id=tenant_id,
        data={"customer": {"id": str(mine), "owner_id": str(rep_a), "version": "1"}}, subject=str(mine)))
    customers.declare(tenant_id, mine, rep_a)

    apply = pb.ApplyCustomerTagRequest(customer_id=str(mine), tag_id=vip.id)
    refused = [
        await rejected(tagging.ApplyCustomerTag(apply, metadata=rep(rep_b))),
        await rejected(tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=str(mine)),
                                                metadata=rep(rep_b))),
    ]
    assert {e.code() for e in refused} == {grpc.StatusCode.NOT_FOUND}
    assert await tag_events(engine, tenant_id) == []

    assert (await tagging.ApplyCustomerTag(apply, metadata=rep(rep_a))).newly_applied
    removal = pb.RemoveCustomerTagRequest(customer_id=str(mine), tag_id=vip.id)
    assert (await rejected(tagging.RemoveCustomerTag(removal, metadata=rep(rep_b)))).code() == \
        grpc.StatusCode.NOT_FOUND
    listed = await tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=str(mine)), metadata=rep(rep_a))
    assert [t.tag_id for t in listed.items] == [vip.id]

    # Another tenant's customer, named by this tenant's API client (data scope all): unknown here.
    foreign = uuid.uuid4()
    customers.declare(uuid.uuid4(), foreign, None)
    client = token_for(tenant_id, SCOPES)
    assert (await rejected(tagging.ApplyCustomerTag(pb.ApplyCustomerTagRequest(customer_id=str(foreign),
                                                                               tag_id=vip.id),
                                                    metadata=client))).code() == grpc.StatusCode.NOT_FOUND
    assert len(await tag_events(engine, tenant_id)) == 1
