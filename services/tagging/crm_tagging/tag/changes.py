"""The events of a tag going on or off a customer: `tag.applied` and `tag.removed`, each with
the next `change_seq` (migration tg0003), written to the outbox in the caller's transaction so
they are published exactly when the change commits. Manual tagging, rules and merges all
announce their changes here, so projections (customers' tag filter) see every one, and so does the
usage history (`tag_history`, migration tg0130)."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import outbox
from crm_platform.events import proto_data
from crm_proto.crm.events.v1 import events_pb2
from crm_tagging.tag import repository

SOURCE = "crm/tagging"
# Where a customer's tag came from (customer_tags.source, TagApplied.source), and who changed it.
SOURCE_RULE = "rule"
SOURCE_MANUAL = "manual"
# Event source only: a merge (or its undo) moved the tag; the row keeps its original source.
SOURCE_MERGE = "merge"


async def announce_applied(session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                           tag_id: uuid.UUID, tag_name: str, source: str, rule_id: uuid.UUID | None = None,
                           actor: str = "") -> None:
    applied = events_pb2.TagApplied(
        customer_id=str(customer_id), tag_id=str(tag_id), tag_name=tag_name, source=source,
        rule_id=str(rule_id or ""), actor=actor, change_seq=await repository.next_change_seq(session),
    )
    await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="tag", verb="applied",
                           data=proto_data(applied), subject_id=str(customer_id))
    await repository.record_history(session, customer_id=customer_id, tag_id=tag_id, action="applied",
                                    source=source, rule_id=rule_id, actor=actor)


async def announce_removed(session: AsyncSession, tenant_id: uuid.UUID | str, *, customer_id: uuid.UUID,
                           tag_id: uuid.UUID, tag_name: str, source: str, actor: str = "",
                           rule_id: uuid.UUID | None = None) -> None:
    removed = events_pb2.TagRemoved(
        customer_id=str(customer_id), tag_id=str(tag_id), tag_name=tag_name, source=source, actor=actor,
        change_seq=await repository.next_change_seq(session),
    )
    await outbox.add_event(session, source=SOURCE, tenant_id=tenant_id, aggregate="tag", verb="removed",
                           data=proto_data(removed), subject_id=str(customer_id))
    await repository.record_history(session, customer_id=customer_id, tag_id=tag_id, action="removed",
                                    source=source, rule_id=rule_id, actor=actor)


class Change(NamedTuple):
    customer_id: uuid.UUID
    tag_id: uuid.UUID
    tag_name: str
    rule_id: uuid.UUID | None = None


# Events written per INSERT by `announce_many` (a sweep may tag a hundred thousand customers).
BATCH = 2000


async def announce_many(session: AsyncSession, tenant_id: uuid.UUID | str, verb: str, changes: list[Change], *,
                        source: str, actor: str = "") -> None:
    """`announce_applied` / `announce_removed` for many changes at once: one sequence read, one
    outbox INSERT and one history INSERT per batch (set-based rule runs)."""
    for start in range(0, len(changes), BATCH):
        batch = changes[start:start + BATCH]
        seqs = await repository.next_change_seqs(session, len(batch))
        items: list[tuple[dict[str, Any], str | None]] = []
        for change, seq in zip(batch, seqs, strict=True):
            if verb == "applied":
                message: Any = events_pb2.TagApplied(
                    customer_id=str(change.customer_id), tag_id=str(change.tag_id), tag_name=change.tag_name,
                    source=source, rule_id=str(change.rule_id or ""), actor=actor, change_seq=seq)
            else:
                message = events_pb2.TagRemoved(
                    customer_id=str(change.customer_id), tag_id=str(change.tag_id), tag_name=change.tag_name,
                    source=source, actor=actor, change_seq=seq)
            items.append((proto_data(message), str(change.customer_id)))
        await outbox.add_events(session, source=SOURCE, tenant_id=tenant_id, aggregate="tag", verb=verb, items=items)
        await repository.record_history_many(session, [
            {"customer_id": c.customer_id, "tag_id": c.tag_id, "action": verb, "source": source,
             "rule_id": c.rule_id, "actor": actor} for c in batch])
