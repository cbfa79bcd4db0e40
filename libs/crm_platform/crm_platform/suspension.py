"""Tenant suspension as every service sees it.

Identity publishes crm.<tenant>.tenant.suspended / .resumed through its outbox. Each service runs a
built-in durable consumer (`<service>-tenancy`) that writes `control.tenants.suspended_at`, and keeps
an in-memory set of suspended tenants refreshed from that table (every `refresh_seconds`, so replicas
that did not consume the event follow within that time). The gRPC edge asks `is_suspended` on every
call: no database round trip per request.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import events, telemetry
from crm_platform.consumer import Subscription
from crm_platform.db import control_session
from crm_platform.tables import erased_tenants, tenants

log = logging.getLogger(__name__)

SUSPENDED = "suspended"
RESUMED = "resumed"
TENANT_EVENTS = [events.subject_for("*", "tenant", SUSPENDED), events.subject_for("*", "tenant", RESUMED)]


class TenantGate:
    """The suspended (and erased) tenants of this process, refreshed from `control.tenants` and
    `control.erased_tenants`."""

    def __init__(self, engine: AsyncEngine, refresh_seconds: float = 1.0):
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self._suspended: frozenset[uuid.UUID] = frozenset()
        self._erased: frozenset[uuid.UUID] = frozenset()
        self._stopping = False

    def refusal(self, tenant_id: uuid.UUID) -> str | None:
        """The stable error code a call of this tenant's tokens is refused with, or None."""
        if tenant_id in self._erased:
            return "tenant_offboarded"
        if tenant_id in self._suspended:
            return "tenant_suspended"
        return None

    def is_suspended(self, tenant_id: uuid.UUID) -> bool:
        return tenant_id in self._suspended

    def mark_erased(self, tenant_id: uuid.UUID) -> None:
        self._erased = self._erased | {tenant_id}

    async def refresh(self) -> None:
        async with control_session(self.engine) as session:
            rows = await session.execute(sa.select(tenants.c.tenant_id).where(tenants.c.suspended_at.is_not(None)))
            suspended = frozenset(rows.scalars())
            erased = frozenset((await session.execute(sa.select(erased_tenants.c.tenant_id))).scalars())
        self._suspended, self._erased = suspended, erased

    def _mark(self, tenant_id: uuid.UUID, suspended: bool) -> None:
        self._suspended = self._suspended | {tenant_id} if suspended else self._suspended - {tenant_id}

    async def apply(self, event: events.CloudEvent, session: AsyncSession) -> None:
        """Handler of the `<service>-tenancy` consumer (runs in its inbox transaction)."""
        verb = event.type.rsplit(".", 1)[-1]
        if verb not in (SUSPENDED, RESUMED):
            return
        tenant_id = uuid.UUID(event.tenantid)
        suspended = verb == SUSPENDED
        await session.execute(
            sa.update(tenants)
            .where(tenants.c.tenant_id == tenant_id)
            .values(suspended_at=sa.func.now() if suspended else None)
        )
        # Effective in this process at once; the commit makes it effective in the other replicas.
        self._mark(tenant_id, suspended)
        log.info("tenant %s", verb, extra=telemetry.log_fields(tenant=str(tenant_id), event_id=event.id))

    def subscription(self, service: str) -> Subscription:
        return Subscription(durable=f"{service}-tenancy", filter_subjects=TENANT_EVENTS, handler=self.apply)

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database briefly unreachable: keep the last known set
                log.warning("could not refresh suspended tenants", extra=telemetry.log_fields(error=repr(exc)))
            await asyncio.sleep(self.refresh_seconds)

    def stop(self) -> None:
        self._stopping = True
