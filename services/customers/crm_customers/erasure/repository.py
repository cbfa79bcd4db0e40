"""Every SQL statement of erasure: the tombstone, the customer's rows, its published events."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity.tables import customer_activity
from crm_customers.bulk.tables import bulk_change_items
from crm_customers.customer.tables import customers, status_history
from crm_customers.duplicates import repository as duplicates_repository
from crm_customers.duplicates.tables import match_keys, name_deletions
from crm_customers.erasure.tables import customer_erasures
from crm_customers.merge.tables import merges
from crm_customers.metrics.tables import orders_30d, spend_12m
from crm_customers.orders.tables import orders
from crm_customers.tags.tables import customer_tags
from crm_platform.tables import outbox

# Rows of the customers service that belong to one customer, deleted by erasure before the customer
# itself (explicitly, also where a foreign key would cascade, so the list reads as the inventory).
# A table added for customers must be listed here: tests/e2e/test_customer_erasure.py checks that no
# row of any tenant table names an erased customer. Deliberately absent: `reveal_audit`, the
# append-only record of who looked at sensitive fields (ids only; a trigger refuses deletes), and
# `customer_export_parts`, files already handed to their requester that expire on their own.
RELATED: tuple[tuple[sa.Table, tuple[str, ...]], ...] = (
    (status_history, ("customer_id",)),
    (orders, ("customer_id",)),
    (spend_12m, ("customer_id",)),  # the value metrics projection (crm_customers/metrics)
    (orders_30d, ("customer_id",)),
    (customer_activity, ("customer_id",)),  # also ON DELETE CASCADE
    (bulk_change_items, ("customer_id",)),  # also ON DELETE CASCADE
    (match_keys, ("customer_id",)),  # also ON DELETE CASCADE
    (name_deletions, ("customer_id",)),  # also deleted with the customer row (c0252's trigger)
    (customer_tags, ("customer_id",)),  # also ON DELETE CASCADE; the tag filter's projection
)


async def tombstone(session: AsyncSession, customer_id: uuid.UUID) -> sa.Row[Any] | None:
    query = sa.select(customer_erasures).where(customer_erasures.c.customer_id == customer_id)
    return (await session.execute(query)).first()


async def lock_customer(
    session: AsyncSession, customer_id: uuid.UUID, scope: sa.ColumnElement[bool] | None
) -> sa.Row[Any] | None:
    """The customer, live or soft-deleted, if in the caller's data scope; locked until commit so
    no concurrent write can slip in between the erasure's reads and deletes."""
    query = sa.select(customers).where(customers.c.id == customer_id).with_for_update()
    if scope is not None:
        query = query.where(scope)
    return (await session.execute(query)).first()


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_related(session: AsyncSession, customer_id: uuid.UUID) -> dict[str, int]:
    deleted: dict[str, int] = {}
    # Duplicate groups, their pairs and dismissals lose the customer; the other members stay reviewable.
    await duplicates_repository.forget_customer(session, customer_id)
    for table, columns in RELATED:
        condition = sa.or_(*(table.c[c] == customer_id for c in columns))
        deleted[table.name] = _count(await session.execute(sa.delete(table).where(condition)))
    # Merges it took part in: their snapshots hold its data, so they cannot be undone any more.
    deleted["merges"] = _count(await session.execute(sa.delete(merges).where(sa.or_(
        merges.c.survivor_id == customer_id, merges.c.merged_ids.any(customer_id)))))
    await session.execute(
        sa.update(customers).where(customers.c.merged_into == customer_id).values(merged_into=None)
    )
    return deleted


async def delete_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    await session.execute(sa.delete(customers).where(customers.c.id == customer_id))


async def purge_events(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> int:
    """Deletes this service's outbox rows about the customer (their payloads carry the record);
    an unpublished one is then never published."""
    result = await session.execute(
        sa.delete(outbox).where(outbox.c.tenant_id == tenant_id, outbox.c.payload["subject"].astext == str(customer_id))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def insert_tombstone(session: AsyncSession, customer_id: uuid.UUID, erased_by: str, reason: str) -> sa.Row[Any]:
    return (
        await session.execute(
            sa.insert(customer_erasures)
            .values(customer_id=customer_id, erased_by=erased_by, reason=reason)
            .returning(customer_erasures)
        )
    ).one()
