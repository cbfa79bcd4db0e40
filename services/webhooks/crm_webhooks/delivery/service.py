"""Delivery rules: which endpoints get an event, what one attempt sends, what its outcome means.
Flushes only; the edges (event handler, job handler, RPC) own the transactions."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import jobs, pagination, telemetry
from crm_platform.access import effective_policy, hidden_by, redact_customer
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.events import CloudEvent, event_type
from crm_platform.ids import new_id
from crm_platform.pagination import PageTokens
from crm_webhooks.delivery import repository
from crm_webhooks.delivery.repository import Delivery
from crm_webhooks.delivery.sender import Outcome
from crm_webhooks.endpoint.service import EndpointService, effective_policies

log = logging.getLogger(__name__)

DELIVER_JOB = "webhook.deliver"
# "cancelled": its customer was erased before delivery (delivery/erasure.py).
FINISHED_STATUSES = frozenset({"succeeded", "dead", "cancelled"})
INVALID_PAGE_TOKEN = FieldError("page_token", "invalid_page_token", "page_token is invalid")


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
class DeliveryPage:
    items: list[Delivery]
    next_page_token: str


# The field policy governing order amounts (customers' orders/service.py SPEND_FIELD).
ORDER_AMOUNT_FIELD = "annual_spend"
ORDER_RECORDED = event_type("order", "recorded")


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
    def __init__(self, endpoints: EndpointService, page_tokens: PageTokens, *, max_attempts: int):
        self.endpoints = endpoints
        self.page_tokens = page_tokens
        self.max_attempts = max_attempts

    async def fan_out(self, session: AsyncSession, event: CloudEvent) -> list[uuid.UUID]:
        """One delivery and one send job per subscribed endpoint, in the caller's transaction.
        Returns the ids of deliveries created (none for an event seen before)."""
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
            await jobs.enqueue(
                session, DELIVER_JOB, {"tenant_id": str(tenant_id), "delivery_id": str(delivery_id)},
                tenant_id=tenant_id, dedupe_key=f"deliver:{delivery_id}", max_attempts=self.max_attempts,
            )
            created.append(delivery_id)
        return created

    async def prepare_attempt(
        self, session: AsyncSession, tenant_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> Attempt | None:
        """The next attempt of a delivery, or None when there is nothing (more) to send."""
        found = await repository.get_with_payload(session, delivery_id)
        if found is None or found.delivery.status in FINISHED_STATUSES:
            return None  # a job run twice (lease expiry) must not send twice after success
        delivery = found.delivery
        target = await self.endpoints.delivery_target(session, tenant_id, delivery.endpoint_id)
        if target is None or not target.enabled:
            await repository.mark_dead(session, delivery_id, "endpoint disabled")
            return None
        return Attempt(
            delivery_id=delivery_id,
            endpoint_id=delivery.endpoint_id,
            url=target.url,
            message_id=delivery.event_id,
            # Re-encoded the same way every time, so every attempt sends the same bytes.
            body=CloudEvent.from_json(found.payload).encode(),
            secret=target.secret,
        )

    async def record_outcome(
        self, session: AsyncSession, delivery_id: uuid.UUID, outcome: Outcome, retry_in: timedelta | None
    ) -> str:
        """Writes an attempt's result; `retry_in` None after a failure means it was the last."""
        if outcome.succeeded:
            status = "succeeded"
        elif retry_in is not None:
            status = "failed"
        else:
            status = "dead"
        await repository.record_attempt(
            session, delivery_id, status=status, status_code=outcome.status_code, error=outcome.error,
            retry_in=None if outcome.succeeded else retry_in,
        )
        log.info("webhook delivery attempted", extra=telemetry.log_fields(
            delivery_id=str(delivery_id), status=status, status_code=outcome.status_code))
        return status

    async def list_page(
        self, session: AsyncSession, *, endpoint_id: str, page_size: int, page_token: str
    ) -> DeliveryPage:
        """Deliveries newest first, optionally of one endpoint (which must exist)."""
        limit = pagination.page_size(page_size)
        # The cursor names the filter it was issued for, so it cannot be replayed with another.
        filter_key = endpoint_id or "*"
        before_id = self._cursor(page_token, filter_key) if page_token else None
        endpoint_uuid = await self.endpoints.require_id(session, endpoint_id) if endpoint_id else None
        rows = await repository.list_newest_first(
            session, endpoint_id=endpoint_uuid, before_id=before_id, limit=limit + 1
        )
        items, more = rows[:limit], len(rows) > limit
        if not more:
            return DeliveryPage(items, "")
        cursor = {"before": str(items[-1].id), "filter": filter_key}
        return DeliveryPage(items, self.page_tokens.encode(cursor))

    def _cursor(self, page_token: str, filter_key: str) -> uuid.UUID:
        cursor = self.page_tokens.decode(page_token)
        try:
            if cursor.get("filter") != filter_key:
                raise ValueError("page token of another query")
            return uuid.UUID(str(cursor["before"]))
        except (KeyError, ValueError):
            raise InvalidInput([INVALID_PAGE_TOKEN]) from None
