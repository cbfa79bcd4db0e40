"""gRPC for endpoints: translation only (rules live in service.py)."""

from __future__ import annotations

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.webhooks.v1 import webhooks_pb2
from crm_webhooks.endpoint.repository import Endpoint
from crm_webhooks.endpoint.service import EndpointService


def endpoint_message(endpoint: Endpoint) -> webhooks_pb2.Endpoint:
    return webhooks_pb2.Endpoint(
        id=str(endpoint.id),
        url=endpoint.url,
        event_types=endpoint.event_types,
        enabled=endpoint.enabled,
        created_at=endpoint.created_at,
    )


class EndpointRpcs(HasEngine):
    """The endpoint half of WebhookService (combined in crm_webhooks.servicer)."""

    endpoint_service: EndpointService

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def CreateEndpoint(
        self, request: webhooks_pb2.CreateEndpointRequest, call: Call
    ) -> webhooks_pb2.CreateEndpointResponse:
        created = await self.endpoint_service.create(
            call.session, call.principal.tenant_id, url=request.url, event_types=list(request.event_types)
        )
        return webhooks_pb2.CreateEndpointResponse(
            endpoint=endpoint_message(created.endpoint), secret=created.secret
        )

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def ListEndpoints(
        self, request: webhooks_pb2.ListEndpointsRequest, call: Call
    ) -> webhooks_pb2.ListEndpointsResponse:
        items = await self.endpoint_service.list_all(call.session)
        return webhooks_pb2.ListEndpointsResponse(items=[endpoint_message(e) for e in items])
