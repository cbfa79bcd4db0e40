"""Tags follow a merged customer to its survivor (`customer.merged`) and go back on undo
(`customer.unmerged`). A tag both carried is kept once, on the survivor; the merged customer's row
is remembered and restored by the undo. Every change of which customer carries a tag is announced
(`tag.removed` / `tag.applied`, source "merge"), so the customer list's tag filter follows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.erasure import is_erased
from crm_platform.merges import MergeEvent
from crm_tagging.merging import repository
from crm_tagging.tag.changes import SOURCE_MERGE, announce_applied, announce_removed


async def apply_merge(session: AsyncSession, event: MergeEvent) -> int:
    """Moves the merged customers' tags to the survivor; returns how many rows moved."""
    merge_id, survivor_id, merged_ids = event.merge_id, event.survivor_id, event.merged_ids
    if not merged_ids or not await repository.begin_merge(session, merge_id, survivor_id):
        return 0
    if await is_erased(session, event.tenant_id, survivor_id):  # erased before this merge arrived: keep nothing
        return 0
    carried = {row.tag_id for row in await repository.tags_of(session, [survivor_id])}
    moved = 0
    for row in await repository.tags_of(session, merged_ids):
        fresh = row.tag_id not in carried
        await repository.record_move(session, merge_id, row, fresh)
        if fresh:
            await repository.repoint(session, row.tag_id, row.customer_id, survivor_id)
            carried.add(row.tag_id)
            moved += 1
        else:
            await repository.drop(session, row.customer_id, row.tag_id)
        await announce_removed(session, event.tenant_id, customer_id=row.customer_id, tag_id=row.tag_id,
                               tag_name=row.tag_name, source=SOURCE_MERGE)
        if fresh:
            await announce_applied(session, event.tenant_id, customer_id=survivor_id, tag_id=row.tag_id,
                                   tag_name=row.tag_name, source=SOURCE_MERGE, rule_id=row.rule_id)
    return moved


async def undo_merge(session: AsyncSession, event: MergeEvent) -> int:
    """Takes moved tags off the survivor and gives every merged customer its tags back; returns
    how many tag rows went back."""
    if not await repository.begin_undo(session, event.merge_id, event.survivor_id):
        return 0
    moves = await repository.moves(session, event.merge_id)
    names = await repository.tag_names(session, sorted({move.tag_id for move in moves}))
    for move in moves:
        name = names.get(move.tag_id, "")
        if move.moved and await repository.drop(session, event.survivor_id, move.tag_id):
            await announce_removed(session, event.tenant_id, customer_id=event.survivor_id, tag_id=move.tag_id,
                                   tag_name=name, source=SOURCE_MERGE)
        if await repository.put_back(session, move):
            await announce_applied(session, event.tenant_id, customer_id=move.customer_id, tag_id=move.tag_id,
                                   tag_name=name, source=SOURCE_MERGE, rule_id=move.rule_id)
    return len(moves)
