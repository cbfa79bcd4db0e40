"""A large delivery backlog written straight into the database (one statement), for the fairness
test and benchmark: `count` pending deliveries of one endpoint, all due, queued long before now."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.db import control_session
from crm_platform.ids import tenant_schema


async def insert_backlog(engine: AsyncEngine, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, count: int) -> None:
    """Deliveries as fan-out writes them (a CloudEvent payload each), queued with due times an hour
    ago, in random order, so every one of them is older than anything queued afterwards."""
    schema = tenant_schema(tenant_id)
    async with control_session(engine) as session:
        await session.execute(sa.text(f"""
            WITH made AS (
                INSERT INTO "{schema}".deliveries
                    (id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at)
                SELECT d.id, :endpoint, d.event_id, 'crm.customer.created',
                       jsonb_build_object(
                           'specversion', '1.0', 'id', d.event_id, 'source', 'crm/customers',
                           'type', 'crm.customer.created', 'time', '2026-12-01T00:00:00Z',
                           'datacontenttype', 'application/json', 'tenantid', CAST(:tenant AS text),
                           'data', jsonb_build_object('backlog', d.n)),
                       'pending', 0, now() - interval '1 hour', now() - interval '1 hour'
                FROM (SELECT gen_random_uuid() AS id, 'backlog-' || gen_random_uuid()::text AS event_id, n
                      FROM generate_series(1, :count) AS n) d
                RETURNING id
            )
            INSERT INTO control.webhook_queue (delivery_id, tenant_id, endpoint_id, run_at, attempt, trigger)
            SELECT id, :tenant, :endpoint, now() - interval '1 hour' + random() * interval '10 minutes', 0, 'event'
            FROM made
        """), {"tenant": tenant_id, "endpoint": endpoint_id, "count": count})
        await session.execute(sa.text("""
            INSERT INTO control.webhook_lanes (endpoint_id, tenant_id) VALUES (:endpoint, :tenant)
            ON CONFLICT (endpoint_id) DO NOTHING
        """), {"tenant": tenant_id, "endpoint": endpoint_id})


async def queued_count(engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with control_session(engine) as session:
        return int((await session.execute(
            sa.text("SELECT count(*) FROM control.webhook_queue WHERE tenant_id = :t"), {"t": tenant_id}
        )).scalar_one())
