"""Keeping the value metrics projection true (docs/customers.md, "Value metrics"): every write of
orders recomputes its customers' rows in the same transaction (`recompute`: single and batch
upserts, merges and their undo), and a recurring schedule per tenant (`customers.metrics_refresh`,
hourly, on the platform scheduler) recomputes the rows whose oldest order left the 12-month or
30-day window. Between a row going stale and its refresh, segment conditions read that customer's
figure from the orders (metrics/repository.py), so counts are exact either way."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.metrics import repository
from crm_platform import scheduler
from crm_platform.scheduler import Firing

REFRESH_SCHEDULE = "customers.metrics_refresh"
REFRESH_KEY = "windows"
REFRESH_RRULE = "FREQ=HOURLY;BYMINUTE=5;BYSECOND=0"
# Customers recomputed per firing: keeps the scheduler's handler short (a day's window exits at a
# million customers are a few thousand); what is left waits for the next hour, read exactly meanwhile.
REFRESH_LIMIT = 10_000

# Tenants whose schedule is known to exist (committed): saves a read per order write.
_scheduled: set[uuid.UUID] = set()


async def keep_refresh_scheduled(session: AsyncSession, tenant_id: uuid.UUID | str) -> None:
    tenant = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
    if tenant in _scheduled:
        return
    if await scheduler.get(session, tenant, REFRESH_SCHEDULE, REFRESH_KEY) is not None:
        _scheduled.add(tenant)
        return
    await scheduler.schedule(session, tenant, REFRESH_SCHEDULE, REFRESH_KEY, rrule=REFRESH_RRULE, time_zone="UTC")


async def recompute(session: AsyncSession, tenant_id: uuid.UUID | str, customer_ids: Iterable[uuid.UUID]) -> None:
    """After orders of these customers were written, in the same transaction."""
    ids = set(customer_ids)
    if ids:
        await repository.refresh(session, ids)
        await keep_refresh_scheduled(session, tenant_id)


async def refresh_stale(session: AsyncSession, firings: Sequence[Firing]) -> None:
    """The schedule's handler (a session bound to the firing's tenant): recomputes up to
    REFRESH_LIMIT customers whose rows the windows made stale."""
    await repository.refresh(session, await repository.stale_customers(session, REFRESH_LIMIT))
