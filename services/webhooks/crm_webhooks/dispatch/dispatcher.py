"""The sender pool: a fixed number of slots, refilled from the fair claim as soon as one frees.

Unlike a batch worker, a slow attempt holds only its own slot: the loop claims again whenever
any attempt finishes (or every `poll_seconds` when idle), so one endpoint that times out cannot
hold back the others. Each attempt's work is `DeliveryAttempts.run` (delivery/attempts.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import telemetry
from crm_webhooks.dispatch import repository
from crm_webhooks.dispatch.repository import Claimed, Limits

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        attempt: Callable[[Claimed], Awaitable[object]],
        *,
        concurrency: int,
        limits: Limits,
        lease: timedelta,
        poll_seconds: float = 0.5,
    ):
        self.engine = engine
        self.attempt = attempt
        self.concurrency = concurrency
        self.limits = limits
        self.lease = lease
        self.poll_seconds = poll_seconds
        self._running: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()
        self._stopping = False

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def wake(self) -> None:
        """New work may be due (called after a commit that queued deliveries in this process)."""
        self._slot_freed.set()

    async def run(self) -> None:
        try:
            while not self._stopping:
                # Cleared before claiming: a slot freed meanwhile wakes the wait below at once.
                self._slot_freed.clear()
                free = self.concurrency - len(self._running)
                claimed: list[Claimed] = []
                if free > 0:
                    try:
                        claimed = await repository.claim(self.engine, slots=free, limits=self.limits, lease=self.lease)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("webhook claim failed")
                for item in claimed:
                    task = asyncio.create_task(self._attempt(item), name=f"webhook-{item.delivery_id}")
                    self._running.add(task)
                if claimed and len(claimed) == free:
                    continue  # there may be more due right away; a full pool waits below
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), self.poll_seconds)
        finally:
            for task in self._running:
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _attempt(self, claimed: Claimed) -> None:
        token = telemetry.tenant_var.set(str(claimed.tenant_id))
        try:
            await self.attempt(claimed)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The claim stays; when its lease runs out the delivery is due again (at-least-once).
            log.exception("webhook attempt failed", extra=telemetry.log_fields(delivery_id=str(claimed.delivery_id)))
        finally:
            telemetry.tenant_var.reset(token)
            self._running.discard(asyncio.current_task())
            self._slot_freed.set()

    def stop(self) -> None:
        self._stopping = True
        self._slot_freed.set()
