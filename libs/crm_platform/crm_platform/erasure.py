"""Customer erasure outside the customers service (docs/customers.md, "Erasure").

The customers service deletes the record, writes its tombstone (`customer_erasures`) and emits
`crm.<tenant>.customer.erased` `{customer_id}`. Every other service that keeps rows about customers
reacts to that event: it deletes what it holds and remembers the id as erased in its own database,
so that events about the id that arrive later (a tag rule run on an old `customer.updated`, a
follow-up scheduled from an old `tag.applied`) are ignored instead of re-creating rows.

The marker is a row of `control.inbox` under the consumer name `erased:customer`, keyed by the
customer id. The inbox already is each service's per-tenant set of "keys seen once" (the consumer
wrapper inserts into it in the handler's transaction), it is deleted with the tenant on
offboarding, and so the marker needs no schema change in any service. Rows under this name must
never be pruned.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent
from crm_platform.tables import inbox

ERASED_TYPE: Final = "crm.customer.erased"
ERASED_SUBJECT: Final = "crm.*.customer.erased"
# The inbox "consumer" under which erased customer ids are kept.
MARKER: Final = "erased:customer"

# purge(session, tenant id, customer id): delete what the service holds about the customer.
Purge = Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[object]]


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def erased_customer(event: CloudEvent) -> uuid.UUID | None:
    """The customer id of a `crm.customer.erased` event (None for any other event)."""
    if event.type != ERASED_TYPE:
        return None
    return _uuid(event.data.get("customer_id"))


def customers_in(event: CloudEvent) -> set[uuid.UUID]:
    """Ids of the customers an event is about, from the payload shapes in events.proto:
    `data.customer.id` (customer events), `data.customer_id` (tag, order, erasure events),
    `data.<message>.customer_id` one level down (`FollowupTaskCreated.task`) and a merge's
    `survivor_id` / `merged_ids`."""
    found: set[uuid.UUID] = set()
    data = event.data if isinstance(event.data, dict) else {}
    merged = data.get("merged_ids")
    candidates: list[Any] = [data.get("customer_id"), data.get("survivor_id"),
                             *(merged if isinstance(merged, list) else [])]
    for value in data.values():
        if isinstance(value, dict):
            candidates.append(value.get("customer_id"))
    customer = data.get("customer")
    if isinstance(customer, dict):
        candidates.append(customer.get("id"))
    for candidate in candidates:
        if candidate:
            parsed = _uuid(candidate)
            if parsed is not None:
                found.add(parsed)
    return found


async def mark_erased(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(
        pg_insert(inbox)
        .values(consumer=MARKER, event_id=str(customer_id), tenant_id=tenant_id)
        .on_conflict_do_nothing()
    )


async def erased_among(
    session: AsyncSession, tenant_id: uuid.UUID, customer_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these customers were erased in this tenant."""
    keys = [str(c) for c in customer_ids]
    if not keys:
        return set()
    rows = await session.execute(
        sa.select(inbox.c.event_id).where(
            inbox.c.consumer == MARKER, inbox.c.tenant_id == tenant_id, inbox.c.event_id.in_(keys)
        )
    )
    return {uuid.UUID(r.event_id) for r in rows}


async def is_erased(session: AsyncSession, tenant_id: uuid.UUID | str, customer_id: uuid.UUID) -> bool:
    tenant = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(tenant_id)
    return bool(await erased_among(session, tenant, [customer_id]))


async def about_erased_customer(session: AsyncSession, event: CloudEvent) -> bool:
    """True when the event concerns a customer already erased here (and is not the erasure
    itself): consumers skip such events."""
    if event.type == ERASED_TYPE:
        return False
    ids = customers_in(event)
    return bool(ids) and bool(await erased_among(session, uuid.UUID(event.tenantid), ids))


async def apply_erasure(session: AsyncSession, event: CloudEvent, purge: Purge) -> bool:
    """For a `customer.erased` event: marks the id and runs `purge` in the handler's transaction.
    Returns False (and does nothing) for any other event."""
    customer_id = erased_customer(event)
    if customer_id is None:
        return False
    tenant_id = uuid.UUID(event.tenantid)
    await mark_erased(session, tenant_id, customer_id)
    await purge(session, tenant_id, customer_id)
    return True


def erasure_subscription(durable: str, purge: Purge) -> Subscription:
    """A durable consumer of `crm.*.customer.erased` that purges a service's rows about the customer."""

    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        await apply_erasure(session, event, purge)

    return Subscription(durable=durable, filter_subjects=[ERASED_SUBJECT], handler=handle)
