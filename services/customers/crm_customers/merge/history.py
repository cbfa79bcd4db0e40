"""Status history follows a merged customer to the survivor (the customers service's own
`RelatedRecords`; orders and activity provide theirs in their packages)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.merge import repository


class StatusHistoryRecords:
    name = "status_history"

    async def move(
        self, session: AsyncSession, merged_ids: Sequence[uuid.UUID], survivor_id: uuid.UUID
    ) -> dict[str, Any]:
        moved: dict[str, list[str]] = defaultdict(list)
        rows = await repository.history_ids(session, merged_ids)
        for row in rows:
            moved[str(row.customer_id)].append(str(row.id))
        await repository.repoint_history(session, [r.id for r in rows], survivor_id)
        return dict(moved)

    async def undo(self, session: AsyncSession, undo_info: dict[str, Any]) -> None:
        for customer_id, row_ids in undo_info.items():
            await repository.repoint_history(session, [uuid.UUID(i) for i in row_ids], uuid.UUID(customer_id))


STATUS_HISTORY = StatusHistoryRecords()
