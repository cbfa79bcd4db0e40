"""Every SQL statement about the customer tag projection."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import customers
from crm_customers.tags.tables import customer_tags
from crm_platform.db import TENANT
from crm_platform.ids import tenant_schema

UUIDS: Final = pg.ARRAY(pg.UUID(as_uuid=True))
# `customers.tag_ids` (migration c0011) is written by this module only; it is not in the customers
# Table, so no customer INSERT, UPDATE or merge snapshot ever names it. Lists read it as a column of
# their FROM, this module writes it through a Table of its own.
TAG_IDS: Final = sa.literal_column("customers.tag_ids", UUIDS)
_customer_tag_ids = sa.Table(
    "customers", sa.MetaData(),
    sa.Column("id", pg.UUID(as_uuid=True), primary_key=True), sa.Column("tag_ids", UUIDS),
    schema=TENANT,
)


async def record_change(session: AsyncSession, *, customer_id: uuid.UUID, tag_id: uuid.UUID, change_seq: int,
                        removed: bool) -> bool:
    """Keeps the change if it is newer than the one held for this customer and tag, and then
    copies the customer's live tags into `customers.tag_ids`; True if kept. A customer this tenant
    does not hold (unknown, or erased) gets nothing."""
    statement = insert(customer_tags).from_select(
        ["customer_id", "tag_id", "change_seq", "removed"],
        sa.select(customers.c.id, sa.literal(tag_id), sa.literal(change_seq, sa.BigInteger),
                  sa.literal(removed)).where(customers.c.id == customer_id),
    )
    kept = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[customer_tags.c.customer_id, customer_tags.c.tag_id],
            set_={"change_seq": statement.excluded.change_seq, "removed": statement.excluded.removed,
                  "changed_at": sa.func.now()},
            where=customer_tags.c.change_seq < statement.excluded.change_seq,
        ).returning(customer_tags.c.tag_id)
    )
    if kept.first() is None:
        return False
    live = (
        sa.select(sa.func.coalesce(sa.func.array_agg(aggregate_order_by(customer_tags.c.tag_id,
                                                                        customer_tags.c.tag_id)),
                                   sa.literal([], UUIDS)))
        .where(customer_tags.c.customer_id == customer_id, sa.not_(customer_tags.c.removed))
        .scalar_subquery()
    )
    # Not a customer change: no version, no updated_at, no event (tagging announced it).
    await session.execute(
        sa.update(_customer_tag_ids).where(_customer_tag_ids.c.id == customer_id).values(tag_ids=live)
    )
    return True


# A tag on at least this share of customers is checked in the row while the list walks another
# index (a page's worth of matches is near); a rarer one is read from the GIN index, which for a
# common tag would mean reading a posting list of a large share of the table (docs/benchmarks.md).
COMMON_SHARE: Final = 0.01


async def common_tags(
    session: AsyncSession, tenant_id: uuid.UUID, tag_ids: Sequence[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """Which of these tags the planner's own statistics on `customers.tag_ids` (pg_stats' most
    common elements, kept by ANALYZE) put on at least COMMON_SHARE of the customers."""
    if not tag_ids:
        return frozenset()
    shares = await _tag_shares(session, tenant_id)
    return frozenset(t for t in tag_ids if shares.get(str(t), 0.0) >= COMMON_SHARE)


# Tenant -> (when read, tag id -> share): pg_stats changes only when ANALYZE runs, so a list or
# segment count need not read it every time (one round trip less per request).
_SHARES: dict[uuid.UUID, tuple[float, dict[str, float]]] = {}
SHARES_SECONDS = 60.0


async def _tag_shares(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, float]:
    cached = _SHARES.get(tenant_id)
    if cached is not None and time.monotonic() - cached[0] < SHARES_SECONDS:
        return cached[1]
    row = (await session.execute(
        sa.text("SELECT most_common_elems::text AS elems, most_common_elem_freqs AS freqs FROM pg_stats "
                "WHERE schemaname = :schema AND tablename = 'customers' AND attname = 'tag_ids'"),
        {"schema": tenant_schema(tenant_id)},
    )).first()
    # The frequencies list ends with three summary figures past the elements; zip stops at the elements.
    shares = {} if row is None or row.elems is None else dict(zip(row.elems.strip("{}").split(","), row.freqs,
                                                                  strict=False))
    _SHARES[tenant_id] = (time.monotonic(), shares)
    return shares


def carries_every(tag_ids: Sequence[uuid.UUID], common: frozenset[uuid.UUID] = frozenset()) -> sa.ColumnElement[bool]:
    """The customer carries all of these tags: rare ones through ix_customers_tag_ids (`@>`),
    common ones as `= ANY(tag_ids)`, which no index serves, so the planner checks them in the row."""
    rare = sorted(t for t in tag_ids if t not in common)
    conditions = [sa.literal(t, pg.UUID(as_uuid=True)) == sa.func.any(TAG_IDS) for t in sorted(common)]
    if rare:
        conditions.append(TAG_IDS.contains(sa.literal(rare, UUIDS)))
    return sa.and_(*conditions)
