"""Tagging's part of customer erasure (docs/customers.md, "Erasure"): on `customer.erased` the
customer's applied tags (and the merge bookkeeping naming it, migration tg0002) are deleted; the id
is remembered (crm_platform/erasure.py) so a tag rule run on a late event never tags it again
(`TagService.apply` checks)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.consumer import Subscription
from crm_platform.erasure import erasure_subscription
from crm_tagging.autotag import facts
from crm_tagging.merging.tables import merge_log, merge_tag_moves
from crm_tagging.tag.tables import customer_tags

DURABLE = "tagging-erasure"


async def purge_customer(session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    await session.execute(sa.delete(customer_tags).where(customer_tags.c.customer_id == customer_id))
    await session.execute(sa.delete(merge_tag_moves).where(merge_tag_moves.c.customer_id == customer_id))
    await session.execute(sa.delete(merge_log).where(merge_log.c.survivor_id == customer_id))
    await facts.forget(session, customer_id)


def subscription() -> Subscription:
    return erasure_subscription(DURABLE, purge_customer)
