"""Records inside the customers service that belong to a customer and follow it when customers
are merged (orders, activity, status history, ...). The merge moves them to the survivor in the
merge's own transaction and keeps what it moved so an undo can put each row back.

Each owner of such records provides one `RelatedRecords` object; the merge lists them explicitly
(`crm_customers/merge/service.py`, `RELATED`). Other services move their own records when they
receive `customer.merged` / `customer.unmerged` events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession


class RelatedRecords(Protocol):
    # Stable key under which the undo information is stored with the merge.
    name: str

    async def move(
        self, session: AsyncSession, merged_ids: Sequence[uuid.UUID], survivor_id: uuid.UUID
    ) -> dict[str, Any]:
        """Re-point every record of `merged_ids` to `survivor_id`; returns JSON-able undo
        information (typically {merged customer id: [moved row ids]})."""
        ...

    async def undo(self, session: AsyncSession, undo_info: dict[str, Any]) -> None:
        """Put back what `move` moved (rows since deleted are skipped)."""
        ...
