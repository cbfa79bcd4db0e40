"""Replay rules. A replay sends a delivery again with the same `webhook-id` and body (receivers
deduplicate on it), starting a fresh retry schedule; a range replay does that for every finished
delivery of an endpoint made in a time range, as a resumable job. Flushes only; edges commit."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import jobs, pagination, telemetry
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens
from crm_webhooks.delivery import repository as deliveries
from crm_webhooks.delivery.repository import WAITING_STATUSES
from crm_webhooks.delivery.service import DeliveryService, DeliveryView
from crm_webhooks.dispatch import repository as queue
from crm_webhooks.replay import repository
from crm_webhooks.replay.repository import Replay

log = logging.getLogger(__name__)

REPLAY_JOB = "webhook.replay"
# Finished deliveries a range replay may send again ("failed" ones are still being retried).
REPLAYABLE = ("succeeded", "dead")
BATCH = 500


@dataclass(frozen=True)
class ReplayPage:
    items: list[Replay]
    next_page_token: str


def endpoint_disabled() -> Conflict:
    return Conflict("the endpoint is disabled; enable it before replaying", code="endpoint_disabled")


class ReplayService:
    def __init__(self, delivery_service: DeliveryService, page_tokens: PageTokens):
        self.delivery_service = delivery_service
        self.endpoints = delivery_service.endpoints
        self.page_tokens = page_tokens

    # -- one delivery -----------------------------------------------------------------------------
    async def replay_delivery(self, session: AsyncSession, tenant_id: uuid.UUID, raw_id: str) -> DeliveryView:
        """A finished delivery (succeeded or dead) starts a new run; one waiting for a retry is
        attempted now (its place in the schedule kept). 409 while an attempt is in flight, when the
        endpoint is disabled, or when the payload was erased."""
        delivery = await deliveries.get(session, parse_uuid(raw_id, "delivery"), lock=True)
        endpoint = None if delivery is None else await self.endpoints.find(session, delivery.endpoint_id)
        if delivery is None or endpoint is None:
            raise NotFound("delivery not found")
        if not endpoint.enabled:
            raise endpoint_disabled()
        if delivery.payload_purged_at is not None or delivery.status == "cancelled":
            raise Conflict("this delivery's payload was erased with its customer; it cannot be sent again",
                           code="delivery_purged")
        if delivery.status in WAITING_STATUSES:
            state = await queue.state(session, delivery.id)
            if state is not None and state.in_flight:
                raise Conflict("an attempt of this delivery is in flight; try again when it finished",
                               code="delivery_in_progress")
            if state is None:
                await queue.enqueue(session, tenant_id=tenant_id, endpoint_id=endpoint.id,
                                    delivery_ids=[delivery.id], trigger="replay")
            else:
                await queue.due_now(session, delivery.id)
            await deliveries.set_due_now(session, delivery.id)
        else:
            await deliveries.restart(session, delivery.id)
            await queue.enqueue(session, tenant_id=tenant_id, endpoint_id=endpoint.id,
                                delivery_ids=[delivery.id], trigger="replay")
        self.delivery_service.queued(session)
        log.info("webhook delivery replayed", extra=telemetry.log_fields(delivery_id=str(delivery.id)))
        return await self.delivery_service.get(session, str(delivery.id))

    # -- a time range, as a job ---------------------------------------------------------------------
    async def create(
        self, session: AsyncSession, tenant_id: uuid.UUID, *, endpoint_id: str, since: datetime | None,
        until: datetime | None, statuses: Sequence[str], requested_by: str,
    ) -> Replay:
        endpoint = await self.endpoints.get(session, endpoint_id)
        chosen = list(dict.fromkeys(statuses)) or list(REPLAYABLE)
        now = datetime.now(UTC)
        until = min(until, now) if until is not None else now  # later deliveries are not history yet
        errors: list[FieldError] = []
        if since is None:
            errors.append(FieldError("since", "required", "since is required"))
        elif since >= now:
            errors.append(FieldError("since", "invalid_range", "since must be in the past"))
        elif since >= until:
            errors.append(FieldError("until", "invalid_range", "until must be after since"))
        errors += [FieldError(f"statuses[{i}]", "invalid_status", "statuses may be succeeded and dead")
                   for i, value in enumerate(chosen) if value not in REPLAYABLE]
        if errors:
            raise InvalidInput(errors)
        assert since is not None
        if not endpoint.enabled:
            raise endpoint_disabled()
        total = await deliveries.count_in_range(session, endpoint.id, since, until, chosen)
        replay = await repository.insert(
            session, replay_id=new_id(), endpoint_id=endpoint.id, since=since, until=until, statuses=chosen,
            total=total, requested_by=requested_by,
        )
        await jobs.enqueue(session, REPLAY_JOB, {"tenant_id": str(tenant_id), "replay_id": str(replay.id)},
                           tenant_id=tenant_id, dedupe_key=f"replay:{replay.id}", max_attempts=5)
        log.info("webhook range replay queued", extra=telemetry.log_fields(replay_id=str(replay.id), total=total))
        return replay

    async def get(self, session: AsyncSession, raw_id: str) -> Replay:
        replay = await repository.get(session, parse_uuid(raw_id, "replay"))
        if replay is None or await self.endpoints.find(session, replay.endpoint_id) is None:
            raise NotFound("replay not found")
        return replay

    async def list_page(
        self, session: AsyncSession, *, endpoint_id: str, page_size: int, page_token: str
    ) -> ReplayPage:
        limit = pagination.page_size(page_size)
        endpoint_uuid = await self.endpoints.require_id(session, endpoint_id)
        before = None
        if page_token:
            cursor = self.page_tokens.decode(page_token)
            try:
                if cursor.get("replays_of") != str(endpoint_uuid):
                    raise ValueError("page token of another query")
                before = uuid.UUID(str(cursor["before"]))
            except (KeyError, ValueError):
                raise InvalidInput([FieldError("page_token", "invalid_page_token", "page_token is invalid")]) from None
        rows = await repository.list_newest_first(session, endpoint_uuid, before_id=before, limit=limit + 1)
        items, more = rows[:limit], len(rows) > limit
        token = self.page_tokens.encode({"replays_of": str(endpoint_uuid), "before": str(items[-1].id)}) if more else ""
        return ReplayPage(items, token)

    async def run_batch(self, session: AsyncSession, tenant_id: uuid.UUID, replay_id: uuid.UUID) -> bool:
        """Replays the next batch of a range replay in the caller's transaction (which also moves
        its cursor, so a restarted job resumes after the last committed batch). True when done."""
        replay = await repository.get(session, replay_id, lock=True)
        if replay is None or replay.status in ("succeeded", "failed"):
            return True
        endpoint = await self.endpoints.find(session, replay.endpoint_id)
        if endpoint is None or not endpoint.enabled:
            await repository.finish(session, replay_id, status="failed",
                                    error="endpoint deleted" if endpoint is None else "endpoint disabled")
            return True
        after = None if replay.cursor_id is None or replay.cursor_created_at is None else (
            replay.cursor_created_at, replay.cursor_id)
        batch = await deliveries.next_in_range(session, replay.endpoint_id, replay.since, replay.until,
                                               replay.statuses, after=after, limit=BATCH)
        if not batch:
            await repository.finish(session, replay_id, status="succeeded")
            return True
        chosen = [item.id for item in batch if not item.purged]
        await deliveries.restart_many(session, chosen)
        await queue.enqueue(session, tenant_id=tenant_id, endpoint_id=endpoint.id, delivery_ids=chosen,
                            trigger="replay")
        await repository.advance(session, replay_id, cursor=(batch[-1].created_at, batch[-1].id),
                                 replayed=len(chosen), skipped=len(batch) - len(chosen))
        if chosen:
            self.delivery_service.queued(session)
        return False

    async def fail(self, session: AsyncSession, replay_id: uuid.UUID, error: str) -> None:
        await repository.finish(session, replay_id, status="failed", error=error[:500])

