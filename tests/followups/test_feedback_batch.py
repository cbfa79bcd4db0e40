"""The feedback batch path (`POST /v1/feedback:batch-create`, up to 500 items) costs a fixed number
of SQL statements however many items and customers it names: it was one erasure check, one scope
lookup, one thread hop, one INSERT and one outbox INSERT per item, which timed out (503) at 500
items on a busy machine while seeding the demo."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups import access
from crm_followups.feedback import sentiment
from crm_followups.feedback.service import FeedbackService, NewFeedback
from crm_followups.feedback.tables import feedback
from crm_followups.task.service import TaskService
from crm_platform.db import tenant_session
from crm_platform.events import subject_for
from crm_platform.tables import outbox
from tests.followups.test_followups_scope import service_principal

ITEMS = 300
CUSTOMERS = 60


async def test_a_batch_of_feedback_costs_a_fixed_number_of_statements(
    engine: AsyncEngine, tenant_id: uuid.UUID, task_service: TaskService,
) -> None:
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    async with tenant_session(engine, tenant_id) as session:  # known to followups' projection
        await session.execute(sa.insert(access.customer_scope), [
            {"customer_id": c, "owner_id": None, "deleted": False, "version": 1} for c in customers])
    texts = ["Great product, our team loves it.", "价格太贵了，服务响应慢，不会再买了。", ""]
    items = [NewFeedback(customer_id=str(customers[i % CUSTOMERS]), channel="phone", category="service",
                         rating=1 + i % 5, text=texts[i % 3]) for i in range(ITEMS)]

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with tenant_session(engine, tenant_id) as session:
            ids = await FeedbackService(task_service).create_many(session, service_principal(tenant_id), items)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    assert len(ids) == ITEMS == len(set(ids))
    assert len(statements) <= 15, statements  # was about 5 per item
    async with tenant_session(engine, tenant_id) as session:
        stored = (await session.execute(sa.select(feedback.c.id, feedback.c.rating, feedback.c.sentiment)
                                        .where(feedback.c.id.in_([uuid.UUID(i) for i in ids])))).all()
        announced = (await session.execute(sa.select(sa.func.count()).select_from(outbox).where(
            outbox.c.subject == subject_for(tenant_id, "feedback", "created")))).scalar_one()
    by_id = {str(row.id): row for row in stored}
    # Ids come back in the items' order, each row with its own item's rating and its text's sentiment.
    assert [by_id[i].rating for i in ids] == [item.rating for item in items]
    expected = {text: (scored.label if (scored := sentiment.analyse(text)) else "") for text in texts}
    assert [by_id[i].sentiment for i in ids] == [expected[item.text] for item in items]
    assert set(expected.values()) == {"positive", "negative", ""}
    assert announced == ITEMS
