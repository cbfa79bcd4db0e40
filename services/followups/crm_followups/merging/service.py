"""Follow-up tasks, records, feedback and surveys follow a merged customer to its survivor
(`customer.merged`), so the survivor's history is complete, and go back on undo
(`customer.unmerged`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.feedback.service import FeedbackService
from crm_followups.merging import repository
from crm_platform.erasure import is_erased
from crm_platform.merges import MergeEvent


async def apply_merge(session: AsyncSession, event: MergeEvent) -> int:
    if not event.merged_ids or not await repository.begin_merge(session, event.merge_id, event.survivor_id):
        return 0
    if await is_erased(session, event.tenant_id, event.survivor_id):  # erased before this merge arrived
        return 0
    moved = await repository.move_tasks(session, event.merge_id, event.merged_ids, event.survivor_id)
    others = await repository.move_rows(session, event.merge_id, event.merged_ids, event.survivor_id)
    await FeedbackService.announce_moved(session, event.tenant_id, others["feedback"])
    return moved + sum(len(ids) for ids in others.values())


async def undo_merge(session: AsyncSession, event: MergeEvent) -> int:
    if not await repository.begin_undo(session, event.merge_id, event.survivor_id):
        return 0
    back = await repository.put_back(session, event.merge_id, event.survivor_id)
    others = await repository.put_back_rows(session, event.merge_id, event.survivor_id)
    await FeedbackService.announce_moved(session, event.tenant_id, others["feedback"])
    return back + sum(len(ids) for ids in others.values())
