"""gRPC for replays: translation only (rules live in service.py)."""

from __future__ import annotations

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.webhooks.v1 import webhooks_pb2
from crm_webhooks.delivery.servicer import delivery_message, timestamp_or_none
from crm_webhooks.replay.repository import Replay
from crm_webhooks.replay.service import ReplayService


def replay_message(replay: Replay) -> webhooks_pb2.Replay:
    message = webhooks_pb2.Replay(
        id=str(replay.id), endpoint_id=str(replay.endpoint_id), since=replay.since, until=replay.until,
        statuses=replay.statuses, status=replay.status, deliveries_total=replay.deliveries_total,
        deliveries_replayed=replay.deliveries_replayed, deliveries_skipped=replay.deliveries_skipped,
        requested_by=replay.requested_by, created_at=replay.created_at, error=replay.error or "",
    )
    if replay.finished_at is not None:
        message.finished_at.FromDatetime(replay.finished_at)
    return message


class ReplayRpcs(HasEngine):
    """The replay part of WebhookService (combined in crm_webhooks.servicer)."""

    replay_service: ReplayService

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def ReplayDelivery(self, request: webhooks_pb2.ReplayDeliveryRequest, call: Call) -> webhooks_pb2.Delivery:
        view = await self.replay_service.replay_delivery(call.session, call.principal.tenant_id, request.id)
        return delivery_message(view)

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def CreateReplay(self, request: webhooks_pb2.CreateReplayRequest, call: Call) -> webhooks_pb2.Replay:
        replay = await self.replay_service.create(
            call.session, call.principal.tenant_id, endpoint_id=request.endpoint_id,
            since=timestamp_or_none(request.since, request.HasField("since")),
            until=timestamp_or_none(request.until, request.HasField("until")),
            statuses=list(request.statuses), requested_by=call.principal.actor,
        )
        return replay_message(replay)

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def GetReplay(self, request: webhooks_pb2.GetReplayRequest, call: Call) -> webhooks_pb2.Replay:
        return replay_message(await self.replay_service.get(call.session, request.id))

    @rpc(Scope.WEBHOOKS_MANAGE)
    async def ListReplays(
        self, request: webhooks_pb2.ListReplaysRequest, call: Call
    ) -> webhooks_pb2.ListReplaysResponse:
        page = await self.replay_service.list_page(
            call.session, endpoint_id=request.endpoint_id, page_size=request.page_size, page_token=request.page_token
        )
        return webhooks_pb2.ListReplaysResponse(items=[replay_message(r) for r in page.items],
                                                next_page_token=page.next_page_token)
