"""Tagging's part of customer erasure (docs/customers.md, "Erasure"): on `customer.erased` the
customer's applied tags, their history (usage review), the batch bookkeeping naming it and the merge
bookkeeping (migration tg0002) are deleted, and its rule facts forgotten; the id
is remembered (crm_platform/erasure.py) so a tag rule run on a late event never tags it again
(`TagService.apply` checks)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.erasure import erasure_subscription
from crm_tagging.autotag import facts
from crm_tagging.batch.tables import tag_batch_changes, tag_batches
from crm_tagging.merging.tables import merge_log, merge_tag_moves
from crm_tagging.tag.tables import customer_tags, tag_history

DURABLE = "tagging-erasure"


async def purge_customer(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(sa.delete(customer_tags).where(customer_tags.c.customer_id == customer_id))
    await session.execute(sa.delete(merge_tag_moves).where(merge_tag_moves.c.customer_id == customer_id))
    await session.execute(sa.delete(merge_log).where(merge_log.c.survivor_id == customer_id))
    await session.execute(sa.delete(tag_history).where(tag_history.c.customer_id == customer_id))
    await session.execute(sa.delete(tag_batch_changes).where(tag_batch_changes.c.customer_id == customer_id))
    await session.execute(sa.update(tag_batches).where(tag_batches.c.customer_ids.contains([customer_id]))
                          .values(customer_ids=sa.func.array_remove(tag_batches.c.customer_ids, customer_id)))
    await facts.forget(session, customer_id)


def subscription() -> Subscription:
    return erasure_subscription(DURABLE, purge_customer)
