"""Every SQL statement about feedback and surveys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.feedback.tables import feedback, surveys


async def insert_many(session: AsyncSession, values: list[dict[str, Any]]) -> list[sa.Row[Any]]:
    """One INSERT for all (batched VALUES), the rows back in the order given."""
    statement = sa.insert(feedback).returning(feedback, sort_by_parameter_order=True)
    return list((await session.execute(statement, values)).all())


async def get(session: AsyncSession, feedback_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(feedback).where(feedback.c.id == feedback_id))).first()


async def get_many(session: AsyncSession, feedback_ids: list[uuid.UUID]) -> list[sa.Row[Any]]:
    return list((await session.execute(sa.select(feedback).where(feedback.c.id.in_(feedback_ids)))).all())


async def list_page(session: AsyncSession, *, visible: sa.ColumnElement[bool], limit: int,
                    customer_id: uuid.UUID | None, channel: str, category: str, sentiment: str, rating: int,
                    before: tuple[datetime, uuid.UUID] | None) -> list[sa.Row[Any]]:
    """Newest first, keyed on (received_at, id)."""
    query = (sa.select(feedback).where(visible)
             .order_by(feedback.c.received_at.desc(), feedback.c.id.desc()).limit(limit))
    if customer_id is not None:
        query = query.where(feedback.c.customer_id == customer_id)
    if channel:
        query = query.where(feedback.c.channel == channel)
    if category:
        query = query.where(feedback.c.category == category)
    if sentiment:
        query = query.where(feedback.c.sentiment == sentiment)
    if rating:
        query = query.where(feedback.c.rating == rating)
    if before is not None:
        query = query.where(sa.tuple_(feedback.c.received_at, feedback.c.id) < sa.tuple_(*before))
    return list((await session.execute(query)).all())


async def insert_survey(session: AsyncSession, values: dict[str, Any]) -> sa.Row[Any]:
    return (await session.execute(sa.insert(surveys).values(**values).returning(surveys))).one()


async def get_survey(session: AsyncSession, survey_id: uuid.UUID) -> sa.Row[Any] | None:
    return (await session.execute(sa.select(surveys).where(surveys.c.id == survey_id))).first()


async def survey_by_token_hash(session: AsyncSession, token_hash: str, *, lock: bool = False) -> sa.Row[Any] | None:
    query = sa.select(surveys).where(surveys.c.token_hash == token_hash)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def mark_answered(session: AsyncSession, survey_id: uuid.UUID, at: datetime, feedback_id: uuid.UUID) -> None:
    await session.execute(sa.update(surveys).where(surveys.c.id == survey_id)
                          .values(answered_at=at, feedback_id=feedback_id))


async def list_surveys(session: AsyncSession, *, visible: sa.ColumnElement[bool], limit: int,
                       customer_id: uuid.UUID | None, status: str, now: datetime,
                       before: tuple[datetime, uuid.UUID] | None) -> list[sa.Row[Any]]:
    query = (sa.select(surveys).where(visible)
             .order_by(surveys.c.sent_at.desc(), surveys.c.id.desc()).limit(limit))
    if customer_id is not None:
        query = query.where(surveys.c.customer_id == customer_id)
    if status == "answered":
        query = query.where(surveys.c.answered_at.is_not(None))
    elif status == "sent":
        query = query.where(surveys.c.answered_at.is_(None), surveys.c.expires_at > now)
    elif status == "expired":
        query = query.where(surveys.c.answered_at.is_(None), surveys.c.expires_at <= now)
    if before is not None:
        query = query.where(sa.tuple_(surveys.c.sent_at, surveys.c.id) < sa.tuple_(*before))
    return list((await session.execute(query)).all())
