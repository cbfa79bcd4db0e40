"""Every SQL statement about the delivery queue (`control.webhook_queue`, `control.webhook_lanes`).

Writes about one delivery run in the caller's tenant transaction (the queue is a control table,
reachable from a tenant session), so a delivery and its place in the queue change together.
The claim runs in its own short control transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform.db import control_session
from crm_platform.ids import new_id
from crm_webhooks.dispatch.fairness import Candidate, pick
from crm_webhooks.dispatch.tables import webhook_lanes, webhook_queue

UUIDS = pg.ARRAY(pg.UUID(as_uuid=True))


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker may attempt now, until `claim_id` is released or its lease runs out."""

    delivery_id: uuid.UUID
    tenant_id: uuid.UUID
    endpoint_id: uuid.UUID
    # Attempts already made in this run (0 for the first): the position in the retry schedule.
    attempt: int
    trigger: str
    claim_id: uuid.UUID
    # Claims of this run so far, this one included (see `unfinished`).
    claims: int = 1

    @property
    def unfinished(self) -> int:
        """Earlier claims of this run whose attempt never recorded an outcome (a worker died, or
        failed on this delivery every time)."""
        return self.claims - 1 - self.attempt


@dataclass(frozen=True)
class Limits:
    """How much may be in flight at once, per endpoint and per tenant (across all workers)."""

    endpoint: int
    tenant: int
    # Lanes considered per claim, per free slot: enough that a claim rarely comes back short
    # while lanes of other tenants wait (each lane probe is one index lookup).
    lanes_per_slot: int = 4


# -- writes in a tenant transaction ---------------------------------------------------------
async def enqueue(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_ids: Sequence[uuid.UUID],
    trigger: str = "event",
) -> None:
    """Makes deliveries due now, at the start of a run (attempt 0); one already queued stays as it is."""
    if not delivery_ids:
        return
    await session.execute(
        pg_insert(webhook_lanes).values(endpoint_id=endpoint_id, tenant_id=tenant_id)
        .on_conflict_do_nothing(index_elements=["endpoint_id"])
    )
    await session.execute(
        pg_insert(webhook_queue)
        .values([
            {"delivery_id": delivery_id, "tenant_id": tenant_id, "endpoint_id": endpoint_id,
             "run_at": sa.func.now(), "attempt": 0, "trigger": trigger}
            for delivery_id in delivery_ids
        ])
        .on_conflict_do_nothing(index_elements=["delivery_id"])
    )


async def reschedule(
    session: AsyncSession, claimed: Claimed, retry_in: timedelta
) -> datetime | None:
    """After a failed attempt: waiting again, due after `retry_in`. None if the claim was lost
    (the delivery was cancelled, or the lease ran out and another worker took it)."""
    row = (
        await session.execute(
            sa.update(webhook_queue)
            .where(webhook_queue.c.delivery_id == claimed.delivery_id, webhook_queue.c.claim_id == claimed.claim_id)
            .values(claim_id=None, run_at=sa.func.now() + retry_in, attempt=webhook_queue.c.attempt + 1)
            .returning(webhook_queue.c.run_at)
        )
    ).first()
    return None if row is None else row.run_at


async def release(session: AsyncSession, claimed: Claimed) -> bool:
    """The run is over (sent, dead, or nothing to send): leaves the queue. False if the claim was lost."""
    deleted = await session.execute(
        sa.delete(webhook_queue)
        .where(webhook_queue.c.delivery_id == claimed.delivery_id, webhook_queue.c.claim_id == claimed.claim_id)
        .returning(webhook_queue.c.delivery_id)
    )
    return deleted.first() is not None


async def remove_deliveries(session: AsyncSession, delivery_ids: Sequence[uuid.UUID]) -> None:
    """Takes deliveries out of the queue (cancelled: their customer was erased)."""
    if delivery_ids:
        await session.execute(sa.delete(webhook_queue).where(webhook_queue.c.delivery_id.in_(delivery_ids)))


async def remove_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> None:
    """Nothing more is sent to the endpoint (disabled or deleted); an attempt in flight finishes
    but finds its claim gone, so it changes no status."""
    await session.execute(sa.delete(webhook_queue).where(webhook_queue.c.endpoint_id == endpoint_id))
    await session.execute(sa.delete(webhook_lanes).where(webhook_lanes.c.endpoint_id == endpoint_id))


@dataclass(frozen=True)
class QueueState:
    attempt: int
    in_flight: bool


async def state(session: AsyncSession, delivery_id: uuid.UUID) -> QueueState | None:
    """Whether the delivery is queued, and if so whether an attempt is in flight right now."""
    row = (
        await session.execute(
            sa.select(
                webhook_queue.c.attempt,
                sa.and_(webhook_queue.c.claim_id.is_not(None), webhook_queue.c.run_at > sa.func.now()).label("busy"),
            )
            .where(webhook_queue.c.delivery_id == delivery_id)
            .with_for_update()
        )
    ).first()
    return None if row is None else QueueState(row.attempt, bool(row.busy))


async def due_now(session: AsyncSession, delivery_id: uuid.UUID) -> None:
    """A waiting delivery's next attempt is due at once (its place in the schedule stays)."""
    await session.execute(
        sa.update(webhook_queue)
        .where(webhook_queue.c.delivery_id == delivery_id, webhook_queue.c.claim_id.is_(None))
        .values(run_at=sa.func.now())
    )


# -- the claim ------------------------------------------------------------------------------
_due = sa.exists().where(webhook_queue.c.endpoint_id == webhook_lanes.c.endpoint_id,
                         webhook_queue.c.run_at <= sa.func.now())
_in_flight = sa.and_(webhook_queue.c.claim_id.is_not(None), webhook_queue.c.run_at > sa.func.now())
# A tenant's turn: first the tenants with the fewest attempts in flight (a quiet tenant with none
# goes before tenants whose backlogs fill their slots), then the one whose lanes were served least
# recently (never served first).
_flying = webhook_queue.alias("flying")
_tenant_in_flight = (
    sa.select(sa.func.count())
    .where(_flying.c.tenant_id == webhook_lanes.c.tenant_id, _flying.c.claim_id.is_not(None),
           _flying.c.run_at > sa.func.now())
    .scalar_subquery()
)
_other_lanes = webhook_lanes.alias("tenant_lanes")
_tenant_served = (
    sa.select(sa.func.max(_other_lanes.c.served_at))
    .where(_other_lanes.c.tenant_id == webhook_lanes.c.tenant_id)
    .scalar_subquery()
)

# Per lane, its oldest due deliveries, at most the endpoint's free room (one index range each).
_CANDIDATES = sa.text("""
    SELECT q.delivery_id, q.tenant_id, q.endpoint_id
    FROM unnest(:endpoint_ids, :room) WITH ORDINALITY AS lane(endpoint_id, room, position)
    CROSS JOIN LATERAL (
        SELECT d.delivery_id, d.tenant_id, d.endpoint_id, d.run_at
        FROM control.webhook_queue d
        WHERE d.endpoint_id = lane.endpoint_id AND d.run_at <= now()
        ORDER BY d.run_at, d.delivery_id
        LIMIT lane.room
    ) q
    ORDER BY lane.position, q.run_at, q.delivery_id
""").bindparams(
    sa.bindparam("endpoint_ids", type_=UUIDS), sa.bindparam("room", type_=pg.ARRAY(sa.Integer))
).columns(delivery_id=pg.UUID(as_uuid=True), tenant_id=pg.UUID(as_uuid=True), endpoint_id=pg.UUID(as_uuid=True))


async def claim(engine: AsyncEngine, *, slots: int, limits: Limits, lease: timedelta) -> list[Claimed]:
    """Takes up to `slots` due deliveries, fairly (dispatch/fairness.py), for this worker.

    Lanes are locked for the claim (`FOR UPDATE SKIP LOCKED`), so two workers never pick from one
    endpoint at the same moment and the endpoint cap holds exactly; the tenant cap is counted at
    claim time and can be passed briefly when workers claim for one tenant's lanes at once."""
    if slots <= 0:
        return []
    async with control_session(engine) as session:
        lanes = (
            await session.execute(
                sa.select(webhook_lanes.c.endpoint_id, webhook_lanes.c.tenant_id)
                .where(_due)
                .order_by(_tenant_in_flight.asc(), _tenant_served.asc().nulls_first(),
                          webhook_lanes.c.served_at.asc().nulls_first())
                .limit(slots * limits.lanes_per_slot)
                .with_for_update(of=webhook_lanes, skip_locked=True)
            )
        ).all()
        if not lanes:
            return []
        endpoint_ids = [lane.endpoint_id for lane in lanes]
        tenant_ids = list({lane.tenant_id for lane in lanes})
        busy_endpoints = await _in_flight_by(session, webhook_queue.c.endpoint_id, endpoint_ids)
        busy_tenants = await _in_flight_by(session, webhook_queue.c.tenant_id, tenant_ids)
        room = [max(0, min(limits.endpoint - busy_endpoints.get(e, 0), slots)) for e in endpoint_ids]
        rows = (await session.execute(_CANDIDATES, {"endpoint_ids": endpoint_ids, "room": room})).all()
        by_lane: dict[uuid.UUID, list[Candidate]] = {}
        for row in rows:
            by_lane.setdefault(row.endpoint_id, []).append(Candidate(row.delivery_id, row.tenant_id, row.endpoint_id))
        chosen = pick(
            [by_lane.get(e, []) for e in endpoint_ids], slots=slots,
            tenant_room={t: limits.tenant - busy_tenants.get(t, 0) for t in tenant_ids},
        )
        if not chosen:
            return []
        taken = await _take(session, {c.delivery_id: new_id() for c in chosen}, lease)
        await session.execute(
            sa.update(webhook_lanes)
            .where(webhook_lanes.c.endpoint_id.in_({c.endpoint_id for c in taken}))
            .values(served_at=sa.func.now())
        )
        return taken


async def _in_flight_by(
    session: AsyncSession, column: sa.Column[uuid.UUID], ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        sa.select(column, sa.func.count()).where(_in_flight, column.in_(ids)).group_by(column)
    )
    return {row[0]: int(row[1]) for row in rows}


async def _take(session: AsyncSession, claims: dict[uuid.UUID, uuid.UUID], lease: timedelta) -> list[Claimed]:
    """Marks the chosen rows in flight under their claim ids (still due: re-checked here)."""
    pairs = sa.text(
        "SELECT * FROM unnest(:delivery_ids, :claim_ids) AS c(delivery_id, claim_id)"
    ).bindparams(sa.bindparam("delivery_ids", type_=UUIDS), sa.bindparam("claim_ids", type_=UUIDS)).columns(
        delivery_id=pg.UUID(as_uuid=True), claim_id=pg.UUID(as_uuid=True)
    ).subquery("c")
    rows = (
        await session.execute(
            sa.update(webhook_queue)
            .where(webhook_queue.c.delivery_id == pairs.c.delivery_id, webhook_queue.c.run_at <= sa.func.now())
            .values(claim_id=pairs.c.claim_id, run_at=sa.func.now() + lease, claims=webhook_queue.c.claims + 1)
            .returning(webhook_queue.c.delivery_id, webhook_queue.c.tenant_id, webhook_queue.c.endpoint_id,
                       webhook_queue.c.attempt, webhook_queue.c.trigger, webhook_queue.c.claim_id,
                       webhook_queue.c.claims),
            {"delivery_ids": list(claims), "claim_ids": list(claims.values())},
        )
    ).all()
    order = {delivery_id: index for index, delivery_id in enumerate(claims)}
    taken = [Claimed(r.delivery_id, r.tenant_id, r.endpoint_id, r.attempt, r.trigger, r.claim_id, r.claims)
             for r in rows]
    return sorted(taken, key=lambda c: order[c.delivery_id])
