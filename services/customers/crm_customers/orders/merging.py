"""Orders follow a merged customer to the survivor (crm_customers/merge/related.py). Each moved
order gets a new version and an `order.recorded` event with `moved: true`, so projections that
group by customer (reporting) follow the move; an undo does the same in reverse."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.metrics import service as metrics
from crm_customers.orders import events
from crm_customers.orders.tables import orders


class OrderRecords:
    name = "orders"

    async def move(
        self, session: AsyncSession, merged_ids: Sequence[uuid.UUID], survivor_id: uuid.UUID
    ) -> dict[str, Any]:
        """Undo information: {merged customer id: [order ids moved from it]}."""
        moved: dict[str, Any] = {}
        for merged_id in merged_ids:
            rows = (await session.execute(
                sa.update(orders)
                .where(orders.c.customer_id == merged_id)
                .values(customer_id=survivor_id, version=orders.c.version + 1, updated_at=sa.func.now())
                .returning(orders)
            )).all()
            if rows:
                moved[str(merged_id)] = sorted(str(r.id) for r in rows)
            for row in rows:
                await events.recorded(session, row, moved=True)
        if moved:
            await metrics.recompute(session, events.session_tenant(session), [*merged_ids, survivor_id])
        return moved

    async def undo(self, session: AsyncSession, undo_info: dict[str, Any]) -> None:
        # The orders go back from the survivor (whose figures go down) to the merged customers.
        touched = set((await session.execute(sa.select(orders.c.customer_id).where(
            orders.c.id.in_([uuid.UUID(i) for ids in undo_info.values() for i in ids])))).scalars())
        for merged_id, order_ids in sorted(undo_info.items()):
            rows = (await session.execute(
                sa.update(orders)
                .where(orders.c.id.in_([uuid.UUID(i) for i in order_ids]))
                .values(customer_id=uuid.UUID(merged_id), version=orders.c.version + 1, updated_at=sa.func.now())
                .returning(orders)
            )).all()
            for row in rows:
                touched.add(row.customer_id)
                await events.recorded(session, row, moved=True)
        await metrics.recompute(session, events.session_tenant(session), touched)


ORDERS = OrderRecords()
