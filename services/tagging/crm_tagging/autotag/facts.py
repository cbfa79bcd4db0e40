"""Tagging's projection of customers for rules (`rule_facts`, `rule_orders`; migration tg0131),
fed by customers' events: the folded fields and soft-deleted flag from `customer.*`, a status
change (`customer.updated` naming `status`) and orders (`order.recorded`) as interactions. An older
customer version never overwrites a newer one; an order's newer version replaces its row.

`last_interaction_at` is the latest of the customer's creation, status changes, order dates and
follow-up records (`followup_record.created`: its `followed_at`). Inbound emails join the same way
once followups records them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_tagging.autotag.conditions import CANCELLED, fold_fields
from crm_tagging.autotag.tables import rule_facts, rule_orders


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (an event's `time`, a payload's `created_at`), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def record_customer(session: AsyncSession, customer_id: uuid.UUID, customer: dict[str, Any], *,
                          status_changed: bool, at: datetime | None = None) -> bool:
    """Keeps the customer's facts if this version is not older than the one held; True if kept."""
    try:
        version = int(customer.get("version") or 0)
    except (TypeError, ValueError):
        version = 0
    now = at or datetime.now(UTC)
    created = parse_time(customer.get("created_at")) or now
    values: dict[str, Any] = {
        "customer_id": customer_id, "fields": fold_fields(customer), "deleted": bool(customer.get("deleted_at")),
        "version": version, "created_at": created, "last_interaction_at": created,
    }
    if status_changed:
        values["status_changed_at"] = now
        values["last_interaction_at"] = now
    statement = pg_insert(rule_facts).values(**values)
    status_at = sa.func.coalesce(statement.excluded.status_changed_at, rule_facts.c.status_changed_at)
    update: dict[str, Any] = {
        "fields": statement.excluded.fields, "deleted": statement.excluded.deleted,
        "version": statement.excluded.version, "created_at": statement.excluded.created_at,
        "status_changed_at": status_at,
        # greatest() skips NULLs: a customer never ordered nor moved counts from its creation.
        "last_interaction_at": sa.func.greatest(statement.excluded.created_at, status_at,
                                                sa.cast(rule_facts.c.last_order_on, sa.DateTime(timezone=True)),
                                                rule_facts.c.last_followup_at),
    }
    kept = await session.execute(
        statement.on_conflict_do_update(index_elements=[rule_facts.c.customer_id], set_=update,
                                        where=rule_facts.c.version <= statement.excluded.version)
        .returning(rule_facts.c.customer_id)
    )
    return kept.first() is not None


async def record_order(session: AsyncSession, order: dict[str, Any]) -> uuid.UUID | None:
    """Keeps an order (a newer version replaces it) and refreshes its customer's order facts;
    returns the customer id, or None for a malformed payload or an older version."""
    try:
        order_id, customer_id = uuid.UUID(str(order["order_id"])), uuid.UUID(str(order["customer_id"]))
        amount = Decimal(str(order.get("amount") or "0"))
        ordered_on = date.fromisoformat(str(order["ordered_on"]))
        version = int(order.get("version") or 0)
    except (KeyError, ValueError, InvalidOperation):
        return None
    previous = (await session.execute(sa.select(rule_orders.c.customer_id).where(
        rule_orders.c.order_id == order_id))).scalar_one_or_none()
    statement = pg_insert(rule_orders).values(
        order_id=order_id, customer_id=customer_id, amount=amount, currency=str(order.get("currency") or ""),
        ordered_on=ordered_on, status=str(order.get("status") or ""), version=version,
        kind=str(order.get("kind") or "order"))
    kept = await session.execute(statement.on_conflict_do_update(
        index_elements=[rule_orders.c.order_id],
        set_={c: statement.excluded[c] for c in ("customer_id", "amount", "currency", "ordered_on", "status",
                                                  "version", "kind")},
        where=rule_orders.c.version <= statement.excluded.version,
    ).returning(rule_orders.c.order_id))
    if kept.first() is None:
        return None
    for affected in {customer_id, previous} - {None}:
        assert affected is not None
        await _refresh_orders(session, affected)
    return customer_id


async def _refresh_orders(session: AsyncSession, customer_id: uuid.UUID) -> None:
    live = sa.select(sa.func.max(rule_orders.c.amount).label("top"), sa.func.max(rule_orders.c.ordered_on)
                     .label("last")).where(rule_orders.c.customer_id == customer_id,
                                           rule_orders.c.status.notin_(CANCELLED)).subquery()
    last_order_at = sa.cast(sa.select(live.c.last).scalar_subquery(), sa.DateTime(timezone=True))
    await session.execute(
        pg_insert(rule_facts).values(customer_id=customer_id, fields={}, deleted=False, version=0,
                                     created_at=sa.func.now(), last_interaction_at=sa.func.now())
        .on_conflict_do_nothing(index_elements=[rule_facts.c.customer_id])
    )
    await session.execute(sa.update(rule_facts).where(rule_facts.c.customer_id == customer_id).values(
        max_order_amount=sa.select(live.c.top).scalar_subquery(),
        last_order_on=sa.select(live.c.last).scalar_subquery(),
        last_interaction_at=sa.func.greatest(rule_facts.c.created_at, rule_facts.c.status_changed_at,
                                             last_order_at, rule_facts.c.last_followup_at),
    ))


async def record_followup(session: AsyncSession, record: dict[str, Any]) -> uuid.UUID | None:
    """A follow-up record as an interaction: the customer's latest follow-up time moves forward
    (never back: records may be logged late); returns the customer id, or None for a malformed
    payload or a customer tagging has not seen yet (its creation event will come first)."""
    try:
        customer_id = uuid.UUID(str(record["customer_id"]))
    except (KeyError, ValueError):
        return None
    followed_at = parse_time(record.get("followed_at"))
    if followed_at is None:
        return None
    latest = sa.func.greatest(rule_facts.c.last_followup_at, followed_at)
    updated = await session.execute(sa.update(rule_facts).where(rule_facts.c.customer_id == customer_id).values(
        last_followup_at=latest,
        last_interaction_at=sa.func.greatest(rule_facts.c.last_interaction_at, followed_at),
    ).returning(rule_facts.c.customer_id))
    return customer_id if updated.first() is not None else None


async def forget(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Erasure: nothing about the customer stays (crm_tagging/erasure.py)."""
    await session.execute(sa.delete(rule_orders).where(rule_orders.c.customer_id == customer_id))
    await session.execute(sa.delete(rule_facts).where(rule_facts.c.customer_id == customer_id))


async def record_value_segments(session: AsyncSession, changes: list[tuple[uuid.UUID, str, int]]) -> list[uuid.UUID]:
    """Reporting's value segment changes (customer, segment, version): each kept unless the facts
    hold a newer version; returns the customers whose segment was kept (their rules then run). A
    customer tagging has not seen yet gets a placeholder row, as an order does (its creation event
    fills the fields)."""
    kept: list[uuid.UUID] = []
    for customer_id, segment, version in changes:
        await session.execute(
            pg_insert(rule_facts).values(customer_id=customer_id, fields={}, deleted=False, version=0,
                                         created_at=sa.func.now(), last_interaction_at=sa.func.now())
            .on_conflict_do_nothing(index_elements=[rule_facts.c.customer_id])
        )
        updated = await session.execute(
            sa.update(rule_facts).where(rule_facts.c.customer_id == customer_id,
                                        rule_facts.c.value_segment_version < version)
            .values(value_segment=segment, value_segment_version=version).returning(rule_facts.c.customer_id)
        )
        if updated.first() is not None:
            kept.append(customer_id)
    return kept
