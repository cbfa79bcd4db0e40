"""Durable JetStream consumers with an inbox: each event is applied once per consumer even when
NATS redelivers it (the inbox row and the handler's writes commit in one transaction)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats.errors
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import context as otel_context
from opentelemetry import trace
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import events, telemetry
from crm_platform.db import control_session, tenant_session
from crm_platform.tables import inbox, tenants

log = logging.getLogger(__name__)

Handler = Callable[[events.CloudEvent, AsyncSession], Awaitable[None]]
# Many events of one tenant, in stream order, already past the inbox, in one transaction.
BatchHandler = Callable[[list[events.CloudEvent], AsyncSession], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """One durable consumer: a name unique in the stream, subjects it wants, and its handler.
    The handler gets a session bound to the event's tenant, inside the inbox transaction.

    With `batch_handler`, each fetched batch is applied per tenant in one transaction: one inbox
    insert for all its events, one handler call (e.g. one analytics insert per table), then the
    acks. A batch that fails is retried event by event with `handler`, so one bad event is
    redelivered (and dead-lettered) alone instead of holding back the others."""

    durable: str
    filter_subjects: list[str]
    handler: Handler
    max_deliver: int = 20
    batch_handler: BatchHandler | None = None
    # Messages fetched at once (JetStream hands over what is there, up to this, without waiting).
    batch_size: int = 50


def _backoff(attempt: int) -> float:
    return min(0.5 * 2 ** max(attempt - 1, 0), 60.0)


class EventConsumer:
    def __init__(self, engine: AsyncEngine, nc: NATS, subscription: Subscription, batch: int | None = None):
        self.engine = engine
        self.js = nc.jetstream()
        self.sub = subscription
        self.batch = batch or subscription.batch_size
        self._stopping = False
        self._tracer = telemetry.tracer("crm_platform.consumer")
        self._provisioned: set[str] = set()

    async def _is_provisioned(self, tenant_id: str) -> bool:
        """Events of tenants this service never provisioned (e.g. history replayed to a service
        deployed later) are skipped rather than failing 20 times on a missing schema."""
        if tenant_id in self._provisioned:
            return True
        async with control_session(self.engine) as session:
            found = (
                await session.execute(sa.select(tenants.c.tenant_id).where(tenants.c.tenant_id == uuid.UUID(tenant_id)))
            ).first()
        if found is not None:
            self._provisioned.add(tenant_id)
        return found is not None

    async def apply(self, event: events.CloudEvent) -> bool:
        """Applies an event once. Returns False if it was skipped (already processed, or a tenant
        this service does not hold)."""
        if not await self._is_provisioned(event.tenantid):
            log.warning(
                "event for a tenant not provisioned here; skipped",
                extra=telemetry.log_fields(event_id=event.id, tenant=event.tenantid),
            )
            return False
        async with tenant_session(self.engine, event.tenantid) as session:
            inserted = await session.execute(
                pg_insert(inbox)
                .values(consumer=self.sub.durable, event_id=event.id, tenant_id=uuid.UUID(event.tenantid))
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            )
            if inserted.first() is None:
                return False
            await self.sub.handler(event, session)
            return True

    async def _handle(self, msg: Msg) -> None:
        parent = telemetry.extract(dict(msg.headers or {}))
        token = otel_context.attach(parent)
        try:
            event = events.CloudEvent.decode(msg.data)
        except (ValueError, KeyError) as exc:
            log.error("undecodable event, terminated", extra=telemetry.log_fields(subject=msg.subject, error=str(exc)))
            await msg.term()
            otel_context.detach(token)
            return
        tenant_token = telemetry.tenant_var.set(event.tenantid)
        try:
            with self._tracer.start_as_current_span(
                f"consume {event.type}",
                kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.system": "nats", "crm.consumer": self.sub.durable, "crm.event_id": event.id},
            ):
                try:
                    await self.apply(event)
                except Exception as exc:
                    attempt = msg.metadata.num_delivered if msg.metadata else 1
                    if attempt >= self.sub.max_deliver:
                        log.error(
                            "event failed for the last time; dead-lettered by terminating it",
                            exc_info=True,
                            extra=telemetry.log_fields(event_id=event.id, attempts=attempt),
                        )
                        await msg.term()
                    else:
                        log.warning(
                            "event handler failed; will be redelivered",
                            extra=telemetry.log_fields(event_id=event.id, error=repr(exc), attempt=attempt),
                        )
                        await msg.nak(delay=_backoff(attempt))
                    return
                await msg.ack()
        finally:
            telemetry.tenant_var.reset(tenant_token)
            otel_context.detach(token)

    async def apply_batch(self, tenant_id: str, batch: list[events.CloudEvent]) -> None:
        """Applies one tenant's events in one transaction (inbox rows, then the batch handler with
        the events not seen before, in order)."""
        handler = self.sub.batch_handler
        assert handler is not None
        if not await self._is_provisioned(tenant_id):
            log.warning("events for a tenant not provisioned here; skipped",
                        extra=telemetry.log_fields(tenant=tenant_id, events=len(batch)))
            return
        async with tenant_session(self.engine, tenant_id) as session:
            inserted = await session.execute(
                pg_insert(inbox)
                .values([{"consumer": self.sub.durable, "event_id": e.id, "tenant_id": uuid.UUID(tenant_id)}
                         for e in batch])
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            )
            new = {row[0] for row in inserted}
            fresh = [e for e in batch if e.id in new]
            if fresh:
                await handler(fresh, session)

    async def _handle_batch(self, messages: list[Msg]) -> None:
        """Decodes the batch, applies it per tenant and acks; a tenant's batch that fails is
        applied again one message at a time by `_handle` (acks or naks each)."""
        by_tenant: dict[str, list[tuple[Msg, events.CloudEvent]]] = {}
        for msg in messages:
            try:
                event = events.CloudEvent.decode(msg.data)
            except (ValueError, KeyError) as exc:
                log.error("undecodable event, terminated",
                          extra=telemetry.log_fields(subject=msg.subject, error=str(exc)))
                await msg.term()
                continue
            by_tenant.setdefault(event.tenantid, []).append((msg, event))
        for tenant_id, pairs in by_tenant.items():
            # A redelivered copy in the same batch would collide in the one inbox insert.
            unique = list({event.id: event for _, event in pairs}.values())
            with self._tracer.start_as_current_span(
                "consume batch", kind=trace.SpanKind.CONSUMER,
                attributes={"messaging.system": "nats", "crm.consumer": self.sub.durable,
                            "messaging.batch.message_count": len(pairs)},
            ):
                try:
                    await self.apply_batch(tenant_id, unique)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("batch failed; applying its events one by one",
                                extra=telemetry.log_fields(tenant=tenant_id, error=repr(exc), events=len(pairs)))
                    for msg, _ in pairs:
                        await self._handle(msg)
                    continue
            for msg, _ in pairs:
                await msg.ack()

    async def _subscribe(self) -> nats.js.JetStreamContext.PullSubscription:
        config = ConsumerConfig(
            durable_name=self.sub.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30,
            max_deliver=self.sub.max_deliver,
            filter_subjects=self.sub.filter_subjects,
        )
        await events.ensure_stream(self.js)
        # The server treats this as create-or-update, so a changed filter takes effect on deploy.
        await self.js.add_consumer(events.STREAM, config)
        return await self.js.pull_subscribe_bind(durable=self.sub.durable, stream=events.STREAM)

    async def run(self) -> None:
        subscription = None
        while not self._stopping:
            try:
                if subscription is None:
                    subscription = await self._subscribe()
                messages = await subscription.fetch(self.batch, timeout=1)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS down: wait and re-bind; the durable consumer keeps our place
                log.warning(
                    "consumer fetch failed; retrying",
                    extra=telemetry.log_fields(consumer=self.sub.durable, error=repr(exc)),
                )
                subscription = None
                await asyncio.sleep(1)
                continue
            if self.sub.batch_handler is not None and not self._stopping:
                try:
                    await self._handle_batch(messages)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # ack failed (NATS reconnecting): redelivered after ack_wait
                    log.warning("could not settle a batch", extra=telemetry.log_fields(error=repr(exc)))
                continue
            for msg in messages:
                if self._stopping:  # hand the rest back now rather than after ack_wait
                    await msg.nak()
                    continue
                try:
                    await self._handle(msg)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # ack/nak failed (NATS reconnecting): redelivered after ack_wait
                    log.warning("could not settle a message", extra=telemetry.log_fields(error=repr(exc)))

    def stop(self) -> None:
        self._stopping = True
