"""gRPC for endpoints: translation only (rules live in service.py)."""

from __future__ import annotations

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.webhooks.v1 import webhooks_pb2
from crm_webhooks.endpoint.repository import Endpoint
from crm_webhooks.endpoint.service import EndpointService, effective_policies


def endpoint_message(endpoint: Endpoint) -> webhooks_pb2.Endpoint:
    message = webhooks_pb2.Endpoint(
        id=str(endpoint.id),
        url=endpoint.url,
        event_types=endpoint.event_types,
        enabled=endpoint.enabled,
        created_at=endpoint.created_at,
        hidden_fields=endpoint.hidden_fields,
        field_policies=effective_policies(endpoint),
        policies_set_by=endpoint.policies_set_by,
        updated_at=endpoint.updated_at,
        disabled_reason=endpoint.disabled_reason or "",
        description=endpoint.description,
    )
    if endpoint.disabled_at is not None:
        message.disabled_at.FromDatetime(endpoint.disabled_at)
    if endpoint.failing_since is not None:
        message.failing_since.FromDatetime(endpoint.failing_since)
    return message


class EndpointRpcs(HasEngine):
    """The endpoint half of WebhookService (combined in crm_webhooks.servicer)."""

    endpoint_service: EndpointService

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def CreateEndpoint(
        self, request: webhooks_pb2.CreateEndpointRequest, call: Call
    ) -> webhooks_pb2.CreateEndpointResponse:
        created = await self.endpoint_service.create(
            call.session, call.principal.tenant_id, url=request.url, event_types=list(request.event_types),
            hidden_fields=list(request.hidden_fields), field_policies=call.principal.field_policies,
            set_by=call.principal.actor, description=request.description,
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

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def GetEndpoint(self, request: webhooks_pb2.GetEndpointRequest, call: Call) -> webhooks_pb2.Endpoint:
        return endpoint_message(await self.endpoint_service.get(call.session, request.id))

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def UpdateEndpoint(self, request: webhooks_pb2.UpdateEndpointRequest, call: Call) -> webhooks_pb2.Endpoint:
        return endpoint_message(await self.endpoint_service.update(
            call.session, request.id,
            url=request.url if request.HasField("url") else None,
            event_types=list(request.event_types) if request.replace_event_types else None,
            enabled=request.enabled if request.HasField("enabled") else None,
            hidden_fields=list(request.hidden_fields) if request.replace_hidden_fields else None,
            field_policies=call.principal.field_policies, set_by=call.principal.actor,
            description=request.description if request.HasField("description") else None,
        ))

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def DeleteEndpoint(
        self, request: webhooks_pb2.DeleteEndpointRequest, call: Call
    ) -> webhooks_pb2.DeleteEndpointResponse:
        cancelled = await self.endpoint_service.delete(call.session, request.id)
        return webhooks_pb2.DeleteEndpointResponse(deliveries_cancelled=cancelled)

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def RotateEndpointSecret(
        self, request: webhooks_pb2.RotateEndpointSecretRequest, call: Call
    ) -> webhooks_pb2.RotateEndpointSecretResponse:
        rotated = await self.endpoint_service.rotate_secret(call.session, call.principal.tenant_id, request.id)
        return webhooks_pb2.RotateEndpointSecretResponse(
            endpoint=endpoint_message(rotated.endpoint), secret=rotated.secret
        )
