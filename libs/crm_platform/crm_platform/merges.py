"""The consuming side of `crm.customer.merged` / `crm.customer.unmerged` (proto CustomerMerged /
CustomerUnmerged), shared by every service that holds records about customers: one parser and
one subscription shape, so each service only says how to move its own rows.

Each handler runs in the consumer's inbox transaction (a redelivered event changes nothing); the
services also keep a per-merge log so an undo that arrives before its merge turns the late merge
into a no-op."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform import telemetry
from crm_platform.consumer import Subscription
from crm_platform.db import TENANT
from crm_platform.events import CloudEvent

log = logging.getLogger(__name__)

MERGED = "crm.customer.merged"
UNMERGED = "crm.customer.unmerged"
SUBJECTS = ["crm.*.customer.merged", "crm.*.customer.unmerged"]


@dataclass(frozen=True)
class MergeEvent:
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: list[uuid.UUID]
    # The event's tenant, for handlers that write events of their own (tagging's tag moves).
    tenant_id: str = ""

    @classmethod
    def parse(cls, event: CloudEvent) -> MergeEvent | None:
        data = event.data
        try:
            return cls(
                merge_id=uuid.UUID(str(data.get("merge_id"))),
                survivor_id=uuid.UUID(str(data.get("survivor_id"))),
                merged_ids=[uuid.UUID(str(i)) for i in data.get("merged_ids") or []],
                tenant_id=event.tenantid,
            )
        except (ValueError, TypeError):
            return None


MergeHandler = Callable[[AsyncSession, MergeEvent], Awaitable[object]]


def merge_subscription(durable: str, *, merged: MergeHandler, unmerged: MergeHandler) -> Subscription:
    """A durable consumer of merge and undo events calling `merged` / `unmerged`."""

    async def handle(event: CloudEvent, session: AsyncSession) -> None:
        found = MergeEvent.parse(event)
        if found is None:
            # Redelivery cannot fix a malformed payload: skip it (the inbox records it as seen).
            log.warning("merge event without valid ids; skipped",
                        extra=telemetry.log_fields(event_id=event.id, type=event.type))
            return
        if event.type == MERGED:
            await merged(session, found)
        elif event.type == UNMERGED:
            await unmerged(session, found)

    return Subscription(durable=durable, filter_subjects=SUBJECTS, handler=handle)


def merge_log_table(metadata: sa.MetaData) -> sa.Table:
    """Each consuming service's record of the merges it applied and undid (tenant schema), so a
    redelivered merge does nothing and an undo that arrives first makes the late merge a no-op."""
    return sa.Table(
        "merge_log",
        metadata,
        sa.Column("merge_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("survivor_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True)),
        sa.Column("undone_at", sa.DateTime(timezone=True)),
        schema=TENANT,
    )
