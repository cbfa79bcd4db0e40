"""WebhookService: the endpoint and delivery halves, each next to its domain code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_proto.crm.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from crm_webhooks.delivery.service import DeliveryService
from crm_webhooks.delivery.servicer import DeliveryRpcs
from crm_webhooks.endpoint.service import EndpointService
from crm_webhooks.endpoint.servicer import EndpointRpcs
from crm_webhooks.replay.service import ReplayService
from crm_webhooks.replay.servicer import ReplayRpcs

SERVICE_NAME: str = webhooks_pb2.DESCRIPTOR.services_by_name["WebhookService"].full_name


class WebhookServicer(EndpointRpcs, DeliveryRpcs, ReplayRpcs, webhooks_pb2_grpc.WebhookServiceServicer):
    def __init__(
        self, engine: AsyncEngine, endpoint_service: EndpointService, delivery_service: DeliveryService,
        replay_service: ReplayService,
    ):
        self.engine = engine
        self.endpoint_service = endpoint_service
        self.delivery_service = delivery_service
        self.replay_service = replay_service
