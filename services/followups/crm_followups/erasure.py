"""Follow-ups' part of customer erasure (docs/customers.md, "Erasure"): on `customer.erased` the
customer's tasks, feedback and surveys (and the merge bookkeeping naming it, migration fu0002) are deleted; the id is
remembered (crm_platform/erasure.py), so a cadence rule fired by a late `tag.applied` makes no task
for it and creating one by API is a 400 `customer_erased` (`TaskService`)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.feedback.tables import feedback, surveys
from crm_followups.merging.tables import merge_log, merge_task_moves
from crm_followups.task.tables import tasks
from crm_platform.consumer import Subscription
from crm_platform.erasure import erasure_subscription

DURABLE = "followups-erasure"


async def purge_customer(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(sa.delete(tasks).where(tasks.c.customer_id == customer_id))
    await session.execute(sa.delete(feedback).where(feedback.c.customer_id == customer_id))
    await session.execute(sa.delete(surveys).where(surveys.c.customer_id == customer_id))
    await session.execute(sa.delete(merge_task_moves).where(merge_task_moves.c.customer_id == customer_id))
    await session.execute(sa.delete(merge_log).where(merge_log.c.survivor_id == customer_id))


def subscription() -> Subscription:
    return erasure_subscription(DURABLE, purge_customer)
