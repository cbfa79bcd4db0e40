"""`ACTIVITY`: the timeline follows a merged customer to the survivor, and back on undo
(crm_customers/merge/related.py, `RelatedRecords`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity import repository


class ActivityRecords:
    name = "activity"

    async def move(
        self, session: AsyncSession, merged_ids: Sequence[uuid.UUID], survivor_id: uuid.UUID
    ) -> dict[str, Any]:
        undo: dict[str, Any] = {}
        for merged in merged_ids:
            moved = await repository.move(session, merged, survivor_id)
            if moved:
                undo[str(merged)] = [str(i) for i in moved]
        return undo

    async def undo(self, session: AsyncSession, undo_info: dict[str, Any]) -> None:
        for merged, entry_ids in undo_info.items():
            await repository.move_back(session, [uuid.UUID(i) for i in entry_ids], uuid.UUID(merged))


ACTIVITY = ActivityRecords()
