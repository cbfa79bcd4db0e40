"""Every SQL statement about cadence rules and enrollments."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.cadence.tables import cadence_enrollments, cadence_rules
from crm_followups.task.tables import tasks


async def insert(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(cadence_rules).values(**values).returning(cadence_rules))).one()


async def list_all(session: AsyncSession) -> list[sa.Row[Any]]:
    query = (sa.select(cadence_rules).where(cadence_rules.c.deleted_at.is_(None))
             .order_by(cadence_rules.c.created_at, cadence_rules.c.id))
    return list((await session.execute(query)).all())


async def get(session: AsyncSession, rule_id: uuid.UUID, *, lock: bool = False) -> sa.Row[Any] | None:
    query = sa.select(cadence_rules).where(cadence_rules.c.id == rule_id, cadence_rules.c.deleted_at.is_(None))
    return (await session.execute(query.with_for_update() if lock else query)).first()


async def update(session: AsyncSession, rule_id: uuid.UUID, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.update(cadence_rules).where(cadence_rules.c.id == rule_id)
                                  .values(**values, updated_at=sa.func.now()).returning(cadence_rules))).one()


async def for_tag(session: AsyncSession, tag_id: uuid.UUID, *, enabled_only: bool = True) -> list[sa.Row[Any]]:
    query = (sa.select(cadence_rules).where(cadence_rules.c.tag_id == tag_id, cadence_rules.c.deleted_at.is_(None))
             .order_by(cadence_rules.c.created_at, cadence_rules.c.id))
    if enabled_only:
        query = query.where(cadence_rules.c.enabled)
    return list((await session.execute(query)).all())


async def enroll(session: AsyncSession, rule_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(pg_insert(cadence_enrollments).values(rule_id=rule_id, customer_id=customer_id)
                          .on_conflict_do_nothing())


async def is_enrolled(session: AsyncSession, rule_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
    found = (await session.execute(sa.select(cadence_enrollments.c.rule_id).where(
        cadence_enrollments.c.rule_id == rule_id, cadence_enrollments.c.customer_id == customer_id))).first()
    return found is not None


async def unenroll(session: AsyncSession, rule_ids: list[uuid.UUID], customer_id: uuid.UUID | None) -> list[Any]:
    """Removes enrollments (of one customer, or all of the rules'); returns the (rule, customer) pairs."""
    statement = sa.delete(cadence_enrollments).where(cadence_enrollments.c.rule_id.in_(rule_ids))
    if customer_id is not None:
        statement = statement.where(cadence_enrollments.c.customer_id == customer_id)
    return list((await session.execute(statement.returning(cadence_enrollments.c.rule_id,
                                                           cadence_enrollments.c.customer_id))).all())


async def enrollments(session: AsyncSession, rule_id: uuid.UUID) -> list[uuid.UUID]:
    return list((await session.execute(sa.select(cadence_enrollments.c.customer_id)
                                       .where(cadence_enrollments.c.rule_id == rule_id))).scalars())


async def cancel_open_tasks(session: AsyncSession, rule_ids: list[uuid.UUID],
                            customer_id: uuid.UUID | None) -> list[sa.Row[Any]]:
    """Open tasks of these rules (for one customer, or all) become `cancelled`; returns them."""
    statement = (sa.update(tasks).where(tasks.c.cadence_rule_id.in_(rule_ids), tasks.c.status == "open")
                 .values(status="cancelled", cancelled_at=sa.func.now()).returning(tasks))
    if customer_id is not None:
        statement = statement.where(tasks.c.customer_id == customer_id)
    return list((await session.execute(statement)).all())
