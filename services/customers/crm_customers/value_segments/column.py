"""The customer's value segment as reporting last published it (`crm.value_segment.changed`),
kept on the customer row (`customers.value_segment`, `value_segment_version`; migration c0190,
indexed) for segments' `value_segments` part (docs/tagging.md, "Segments"). Not in the customers
Table: no INSERT or UPDATE of a customer names it, only this module's consumer writes it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.db import TENANT

VALUE_SEGMENTS: Final = ("high_value", "potential", "normal", "low_value")
VALUE_SEGMENT: Final = sa.literal_column("customers.value_segment", sa.Text)
# The columns for the consumer's UPDATE (a lightweight table: the customers Table does not declare them).
# A Table of its own metadata (a TableClause's schema is not translated to the tenant's).
_CUSTOMER_SEGMENTS: Final = sa.Table(
    "customers", sa.MetaData(), sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
    sa.Column("value_segment", sa.Text), sa.Column("value_segment_version", sa.BigInteger), schema=TENANT,
)


def in_segments(segments: Sequence[str]) -> sa.ColumnElement[bool]:
    return VALUE_SEGMENT.in_(sorted(segments))


async def record(session: AsyncSession, changes: Sequence[tuple[uuid.UUID, str, int]]) -> int:
    """Keeps each (customer, segment, version) unless the row holds a newer version; returns how
    many rows changed. A customer customers does not hold (erased) is skipped. In customer id
    order: each update also locks the customer's facts row (migration c0240), and writers that lock
    several take them in that order (c0271), so none waits for another holding the next one."""
    changed = 0
    for customer_id, segment, version in sorted(changes):
        c = _CUSTOMER_SEGMENTS.c
        result = await session.execute(
            sa.update(_CUSTOMER_SEGMENTS).where(c.id == customer_id, c.value_segment_version < version)
            .values(value_segment=segment, value_segment_version=version)
        )
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed
