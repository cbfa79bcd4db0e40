"""Delivery rules: which endpoints get an event, what one attempt sends, what its outcome means.
Flushes only; the edges (event handler, job handler, RPC) own the transactions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import pagination, telemetry
from crm_platform.access import effective_policy, hidden_by, redact_customer
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.events import CloudEvent, event_type
from crm_platform.ids import new_id, parse_uuid
from crm_platform.pagination import PageTokens
from crm_webhooks.delivery import repository
from crm_webhooks.delivery.repository import AttemptRecord, Delivery, ListFilter
from crm_webhooks.delivery.schedule import retry_delay
from crm_webhooks.delivery.sender import Outcome
from crm_webhooks.delivery.tables import DELIVERY_STATUSES
from crm_webhooks.dispatch import repository as queue
from crm_webhooks.dispatch.repository import Claimed
from crm_webhooks.endpoint.service import EndpointService, effective_policies

log = logging.getLogger(__name__)

# "cancelled": its customer was erased, or its endpoint deleted, before it was delivered.
FINISHED_STATUSES = frozenset({"succeeded", "dead", "cancelled"})
INVALID_PAGE_TOKEN = FieldError("page_token", "invalid_page_token", "page_token is invalid")
# The delivery log shows the start of each request body and each delivery's latest attempts.
REQUEST_EXCERPT_BYTES = 2048
ATTEMPTS_SHOWN = 25


@dataclass(frozen=True)
class Attempt:
    """Everything one HTTP attempt needs, read in a short transaction before the POST."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    message_id: str
    body: bytes
    secret: str = field(repr=False)


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as the log shows it: its state, the start of its request body, its attempts."""

    delivery: Delivery
    request_body_excerpt: str
    request_body_bytes: int
    attempts: list[AttemptRecord]


@dataclass(frozen=True)
class DeliveryPage:
    items: list[DeliveryView]
    next_page_token: str


def request_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes every attempt sends (re-encoded the same way each time); empty once purged."""
    return CloudEvent.from_json(payload).encode() if payload else b""


def excerpt(body: bytes, limit: int = REQUEST_EXCERPT_BYTES) -> str:
    return body[:limit].decode("utf-8", errors="ignore")  # a character cut in two is dropped


# The field policy governing order amounts (customers' orders/service.py SPEND_FIELD).
ORDER_AMOUNT_FIELD = "annual_spend"
ORDER_RECORDED = event_type("order", "recorded")
# What "send a test event" sends (to the one endpoint asked, never fanned out).
TEST_EVENT_TYPE = event_type("webhook", "test")
TEST_SOURCE = "crm/webhooks"


def endpoint_payload(event: CloudEvent, policies: Mapping[str, str]) -> dict[str, Any]:
    """The CloudEvent as this endpoint may receive it, stored as the delivery's payload: a customer
    in `data` has the endpoint's field policies applied (`crm_platform.access.redact_customer`,
    the rules the customers service applies to its replies) and hidden fields are dropped from
    `changed_fields`, so nothing is stored or sent that the endpoint's creator may not see."""
    payload = event.to_json()
    data = payload.get("data")
    if not policies or not isinstance(data, dict):
        return payload
    data = dict(data)
    if isinstance(data.get("customer"), dict):
        data["customer"] = redact_customer(data["customer"], policies)
    if isinstance(data.get("changed_fields"), list):
        hidden = hidden_by(policies)
        data["changed_fields"] = [name for name in data["changed_fields"] if name not in hidden]
    if payload.get("type") == ORDER_RECORDED and effective_policy(policies, ORDER_AMOUNT_FIELD) in ("hidden", "masked"):
        # Order amounts are spend: they follow the `annual_spend` policy, as in the orders API.
        data.pop("amount", None)
        data["amount_hidden"] = True
    payload["data"] = data
    return payload


class DeliveryService:
    def __init__(
        self, endpoints: EndpointService, page_tokens: PageTokens, *, retry_schedule: Sequence[timedelta],
    ):
        self.endpoints = endpoints
        self.page_tokens = page_tokens
        self.retry_schedule = list(retry_schedule)
        # Told when a transaction that queued deliveries committed (main.py: wakes this process's
        # dispatcher, which otherwise finds them at its next poll).
        self.wake: Callable[[], None] = lambda: None

    def queued(self, session: AsyncSession) -> None:
        """Deliveries were queued in `session`'s transaction: wake the dispatcher once it commits."""
        if not session.info.get("webhooks_wake"):
            session.info["webhooks_wake"] = True
            sa_event.listen(session.sync_session, "after_commit", lambda _: self.wake(), once=True)

    async def fan_out(self, session: AsyncSession, event: CloudEvent) -> list[uuid.UUID]:
        """One delivery per subscribed endpoint, queued in the caller's transaction. Returns the
        ids of deliveries created (none for an event seen before)."""
        tenant_id = uuid.UUID(event.tenantid)
        created: list[uuid.UUID] = []
        for endpoint in await self.endpoints.subscribed_to(session, event.type):
            delivery_id = new_id()
            is_new = await repository.insert_if_new(
                session, delivery_id=delivery_id, endpoint_id=endpoint.id, event_id=event.id,
                event_type=event.type, payload=endpoint_payload(event, effective_policies(endpoint)),
            )
            if not is_new:
                continue
            await queue.enqueue(session, tenant_id=tenant_id, endpoint_id=endpoint.id, delivery_ids=[delivery_id])
            created.append(delivery_id)
        if created:
            self.queued(session)
        return created

    async def send_test(self, session: AsyncSession, tenant_id: uuid.UUID, raw_endpoint_id: str) -> DeliveryView:
        """A `crm.webhook.test` event for one endpoint (whatever types it subscribes to), queued like
        any delivery: signed, retried, logged, replayable. 409 `endpoint_disabled` while disabled."""
        endpoint = await self.endpoints.get(session, raw_endpoint_id)
        if not endpoint.enabled:
            raise Conflict("the endpoint is disabled; enable it before sending a test event",
                           code="endpoint_disabled")
        event = CloudEvent.new(source=TEST_SOURCE, type=TEST_EVENT_TYPE, tenant_id=tenant_id,
                               data={"endpoint_id": str(endpoint.id), "message": "This is a test event."})
        delivery_id = new_id()
        await repository.insert_if_new(session, delivery_id=delivery_id, endpoint_id=endpoint.id, event_id=event.id,
                                       event_type=event.type, payload=event.to_json())
        await queue.enqueue(session, tenant_id=tenant_id, endpoint_id=endpoint.id, delivery_ids=[delivery_id])
        self.queued(session)
        log.info("webhook test event queued", extra=telemetry.log_fields(endpoint_id=str(endpoint.id)))
        return await self.get(session, str(delivery_id))

    async def requeue(self, session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> bool:
        """A delivery still waiting joins the queue (for `webhook.deliver` jobs written by a replica
        running the code before the fair queue, during a rolling upgrade)."""
        delivery = await repository.get(session, delivery_id)
        if delivery is None or delivery.status in FINISHED_STATUSES:
            return False
        await queue.enqueue(session, tenant_id=tenant_id, endpoint_id=delivery.endpoint_id, delivery_ids=[delivery_id])
        self.queued(session)
        return True

    # -- one attempt ----------------------------------------------------------------------------
    async def prepare_attempt(self, session: AsyncSession, claimed: Claimed) -> Attempt | None:
        """The attempt a claim asks for, or None when there is nothing (more) to send; then the
        claim is released (and the delivery finished if its endpoint is gone or disabled)."""
        found = await repository.get_with_payload(session, claimed.delivery_id)
        if found is None or found.delivery.status in FINISHED_STATUSES:
            # E.g. a lease ran out after the attempt succeeded: it must not be sent twice.
            await queue.release(session, claimed)
            return None
        target = await self.endpoints.delivery_target(session, claimed.tenant_id, claimed.endpoint_id)
        if target is None or not target.enabled:
            status, error = ("cancelled", "endpoint deleted") if target is None else ("dead", "endpoint disabled")
            await repository.finish_without_attempt(session, claimed.delivery_id, status=status, error=error)
            await queue.release(session, claimed)
            return None
        return Attempt(
            delivery_id=claimed.delivery_id,
            endpoint_id=claimed.endpoint_id,
            url=target.url,
            message_id=found.delivery.event_id,
            body=request_body(found.payload),
            secret=target.secret,
        )

    async def give_up(self, session: AsyncSession, claimed: Claimed) -> None:
        """Dead-letters a delivery whose attempts never completed (see delivery/attempts.py)."""
        await repository.finish_without_attempt(
            session, claimed.delivery_id, status="dead",
            error=f"{claimed.unfinished} attempts ended without an outcome (see the service's logs)",
        )
        await queue.release(session, claimed)
        log.error("webhook delivery given up", extra=telemetry.log_fields(delivery_id=str(claimed.delivery_id)))

    async def record_outcome(
        self, session: AsyncSession, claimed: Claimed, attempt: Attempt, outcome: Outcome, attempted_at: datetime
    ) -> str:
        """Writes an attempt's result, its log row, the delivery's place in the queue and the
        endpoint's health, in one transaction. Returns the delivery's status ("lost" when the
        claim was gone: cancelled or disabled meanwhile; only the log row and count are written)."""
        next_attempt_at: datetime | None = None
        if outcome.succeeded:
            status, held = "succeeded", await queue.release(session, claimed)
        else:
            delay = retry_delay(self.retry_schedule, claimed.attempt + 1)
            if delay is None:
                status, held = "dead", await queue.release(session, claimed)
            else:
                next_attempt_at = await queue.reschedule(session, claimed, delay)
                status, held = "failed", next_attempt_at is not None
        number = await repository.record_attempt(
            session, claimed.delivery_id, status=status if held else None, status_code=outcome.status_code,
            error=outcome.error, next_attempt_at=next_attempt_at,
        )
        await repository.insert_attempt(session, AttemptRecord(
            id=new_id(), delivery_id=claimed.delivery_id, number=number, trigger=claimed.trigger,
            attempted_at=attempted_at, duration_ms=outcome.duration_ms, url=attempt.url,
            status_code=outcome.status_code, error=outcome.error, request_headers=outcome.request_headers,
            response_headers=outcome.response_headers, response_body_excerpt=outcome.response_body_excerpt,
            response_truncated=outcome.response_truncated,
        ))
        if outcome.succeeded:
            await self.endpoints.note_success(session, claimed.endpoint_id)
        else:
            await self.endpoints.note_failure(
                session, claimed.tenant_id, claimed.endpoint_id, outcome.status_code, outcome.error or ""
            )
        log.info("webhook delivery attempted", extra=telemetry.log_fields(
            delivery_id=str(claimed.delivery_id), status=status if held else "lost",
            status_code=outcome.status_code, duration_ms=outcome.duration_ms))
        return status if held else "lost"

    # -- the delivery log -------------------------------------------------------------------------
    async def list_page(
        self, session: AsyncSession, *, endpoint_id: str, page_size: int, page_token: str, status: str = "",
        created_after: datetime | None = None, created_before: datetime | None = None,
    ) -> DeliveryPage:
        """Deliveries newest first, optionally of one endpoint (which must exist), one status and
        a time range, each with its latest attempts."""
        limit = pagination.page_size(page_size)
        errors: list[FieldError] = []
        if status and status not in DELIVERY_STATUSES:
            errors.append(FieldError("status", "invalid_status",
                                     f"status must be one of {', '.join(DELIVERY_STATUSES)}"))
        if created_after and created_before and created_after >= created_before:
            errors.append(FieldError("created_before", "invalid_range", "created_before must be after created_after"))
        if errors:
            raise InvalidInput(errors)
        # The cursor names the filter it was issued for, so it cannot be replayed with another.
        filter_key = "|".join([endpoint_id or "*", status, _iso(created_after), _iso(created_before)])
        after = self._cursor(page_token, filter_key) if page_token else None
        endpoint_uuid = await self.endpoints.require_id(session, endpoint_id) if endpoint_id else None
        where = ListFilter(endpoint_uuid, status or None, created_after, created_before)
        rows = await repository.list_newest_first(session, where, after=after, limit=limit + 1)
        found, more = rows[:limit], len(rows) > limit
        items = await self._views(session, found)
        if not more:
            return DeliveryPage(items, "")
        last = found[-1].delivery
        cursor = {"created_at": last.created_at.isoformat(), "id": str(last.id), "filter": filter_key}
        return DeliveryPage(items, self.page_tokens.encode(cursor))

    async def get(self, session: AsyncSession, raw_id: str) -> DeliveryView:
        """One delivery of a live endpoint of this tenant, else NotFound."""
        found = await repository.get_with_payload(session, parse_uuid(raw_id, "delivery"))
        if found is None or await self.endpoints.find(session, found.delivery.endpoint_id) is None:
            raise NotFound("delivery not found")
        [view] = await self._views(session, [found])
        return view

    async def _views(self, session: AsyncSession, found: list[repository.DeliveryWithPayload]) -> list[DeliveryView]:
        ids = [f.delivery.id for f in found]
        attempts = await repository.latest_attempts(session, ids, per_delivery=ATTEMPTS_SHOWN)
        views = []
        for item in found:
            body = request_body(item.payload)
            views.append(DeliveryView(item.delivery, excerpt(body), len(body), attempts.get(item.delivery.id, [])))
        return views

    def _cursor(self, page_token: str, filter_key: str) -> tuple[datetime, uuid.UUID]:
        cursor = self.page_tokens.decode(page_token)
        try:
            if cursor.get("filter") != filter_key:
                raise ValueError("page token of another query")
            return datetime.fromisoformat(str(cursor["created_at"])), uuid.UUID(str(cursor["id"]))
        except (KeyError, ValueError):
            raise InvalidInput([INVALID_PAGE_TOKEN]) from None


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).isoformat()
