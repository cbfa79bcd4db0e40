"""Projecting follow-up records and tasks (docs/reporting.md, "Follow-ups"): `crm.followup_record.created`
into `followup_records`, every `crm.followup_task.*` event (each carries the whole task) into
`followup_tasks`, and the moves a customer merge (or its undo) makes, which followups applies
without events of its own."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from crm_platform import telemetry
from crm_platform.events import CloudEvent
from crm_platform.merges import MERGED, UNMERGED, MergeEvent
from crm_reporting.analytics import Analytics, Row, TenantQuery, TenantTable
from crm_reporting.analytics.query import TenantDelete
from crm_reporting.customers.tables import CUSTOMER_STATUS_CHANGES
from crm_reporting.followups.tables import CUSTOMER_ACTIVITY, FOLLOWUP_RECORDS, FOLLOWUP_TASKS
from crm_reporting.timestamps import parse_rfc3339

log = logging.getLogger(__name__)

RECORD_CREATED: Final = "crm.followup_record.created"
TASK_EVENTS: Final = frozenset({"crm.followup_task.created", "crm.followup_task.updated",
                                "crm.followup_task.completed", "crm.followup_task.due",
                                "crm.followup_task.overdue"})
OPEN: Final = "open"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
CONTACTED: Final = "contacted"
# Status-history rows that are an activity of their own, besides the creation (`new`).
ACTIVITY_STATUSES: Final = ("won", "lost")
_CREATED_VERBS: Final = ("crm.customer.created", "crm.customer.imported")
# The tables a merge moves rows of: each one's key column, and which of its rows move.
_MOVED: Final = ((FOLLOWUP_RECORDS, "record_id", ""), (FOLLOWUP_TASKS, "task_id", ""),
                 (CUSTOMER_ACTIVITY, "source_id", "activity = {contacted:String}"))


def _version(event: CloudEvent) -> int:
    """The event's time in microseconds: later events (and moves) win over earlier ones."""
    at = parse_rfc3339(event.time)
    return int((at - _EPOCH).total_seconds() * 1_000_000) if at is not None else 0


def followup_rows(event: CloudEvent) -> list[tuple[TenantTable, Row]]:
    if event.type == RECORD_CREATED:
        return _record_row(event)
    if event.type in TASK_EVENTS:
        return _task_row(event)
    return []


# The dictionary names `crm.followup_record.created` carries beside the record.
_LABEL_COLUMNS: Final = ("method_en", "method_zh", "result_en", "result_zh")


def _record_row(event: CloudEvent) -> list[tuple[TenantTable, Row]]:
    data = event.data.get("record") or {}
    try:
        row: Row = {
            "tenant_id": uuid.UUID(event.tenantid), "record_id": uuid.UUID(str(data["id"])),
            # `created` is the first version: a merge's move (a later version) outlives its redelivery.
            "version": 0, "customer_id": uuid.UUID(str(data["customer_id"])),
            "followed_by": str(data.get("followed_by") or data.get("created_by") or ""),
            "method": str(data.get("method", "")), "result": str(data.get("result", "")),
            "followed_at": parse_rfc3339(data.get("followed_at") or data.get("created_at")),
            "moved_from": "", "merge_id": "", "event_id": event.id,
            **{name: str(event.data.get(name) or "") for name in _LABEL_COLUMNS},
        }
    except (KeyError, ValueError, TypeError):
        row = {}
    if not row or row["followed_at"] is None:
        log.warning("follow-up record event not projected", extra=telemetry.log_fields(event_id=event.id))
        return []
    return [(FOLLOWUP_RECORDS, row)]


def _task_row(event: CloudEvent) -> list[tuple[TenantTable, Row]]:
    data = event.data.get("task") or {}
    try:
        row: Row = {
            "tenant_id": uuid.UUID(event.tenantid), "task_id": uuid.UUID(str(data["id"])),
            "version": _version(event), "customer_id": uuid.UUID(str(data["customer_id"])),
            "assignee_id": str(data.get("assignee_id", "")), "status": str(data.get("status", "")),
            "due_at": parse_rfc3339(data.get("due_at")), "moved_from": "", "merge_id": "", "event_id": event.id,
        }
    except (KeyError, ValueError, TypeError):
        row = {}
    if not row or row["due_at"] is None or not row["status"]:
        log.warning("follow-up task event not projected", extra=telemetry.log_fields(event_id=event.id))
        return []
    return [(FOLLOWUP_TASKS, row)]


def activity_rows(event: CloudEvent, rows: list[tuple[TenantTable, Row]]) -> list[tuple[TenantTable, Row]]:
    """The `customer_activity` rows of an event, from the rows its other projections made of it:
    a follow-up record is `contacted`; a status-history row of a created customer is `new`, and
    one entering won or lost is that."""
    found: list[tuple[TenantTable, Row]] = []

    def add(activity: str, source_id: str, row: Row, at: object) -> None:
        found.append((CUSTOMER_ACTIVITY, {
            "tenant_id": row["tenant_id"], "activity": activity, "source_id": source_id, "version": 0,
            "customer_id": row["customer_id"], "happened_at": at, "moved_from": "", "merge_id": "",
            "event_id": event.id}))

    for table, row in rows:
        if table is FOLLOWUP_RECORDS:
            add(CONTACTED, str(row["record_id"]), row, row["followed_at"])
        elif table is CUSTOMER_STATUS_CHANGES:
            source = f"{row['customer_id']}:{row['version']}"
            if event.type in _CREATED_VERBS:
                add("new", source, row, row["changed_at"])
            if row["status"] in ACTIVITY_STATUSES:
                add(str(row["status"]), source, row, row["changed_at"])
    return found


def moves(event: CloudEvent) -> bool:
    return event.type in (MERGED, UNMERGED)


async def apply_move(analytics: Analytics, event: CloudEvent) -> None:
    """A merge moves the merged customers' records and tasks to the survivor (as followups does,
    `crm_followups/merging/`); its undo gives back what that merge moved and the survivor still
    holds. Each moved row is inserted again as a newer version with its new customer. Applied
    after the rows projected before the event are inserted (the projector flushes first); applying
    it twice inserts the same rows again, which the version collapses."""
    merge = MergeEvent.parse(event)
    if merge is None or not merge.merged_ids:
        return
    tenant, version = uuid.UUID(event.tenantid), _version(event)
    for table, key, moving in _MOVED:
        query = TenantQuery(table, tenant, final=True).select("*")
        if moving:
            query = query.where(moving, contacted=CONTACTED)
        if event.type == MERGED:
            query = query.where("customer_id IN {merged_ids:Array(UUID)}", merged_ids=merge.merged_ids)
        else:
            query = (query.where("merge_id = {merge_id:String}", merge_id=str(merge.merge_id))
                     .where("customer_id = {survivor_id:UUID}", survivor_id=merge.survivor_id))
        moved: list[Row] = []
        for row in await analytics.query(query.order_by(key)):
            if event.type == MERGED:
                changes = {"customer_id": merge.survivor_id, "moved_from": str(row["customer_id"]),
                           "merge_id": str(merge.merge_id)}
            else:
                changes = {"customer_id": uuid.UUID(str(row["moved_from"])), "moved_from": "", "merge_id": ""}
            moved.append({**row, **changes, "tenant_id": tenant, "version": max(version, int(row["version"]) + 1),
                          "event_id": event.id})
        if moved:
            await analytics.insert(table, moved)


async def erase_moved(analytics: Analytics, tables: Sequence[TenantTable], tenant_id: uuid.UUID,
                      customer_id: uuid.UUID) -> None:
    """Customer erasure's part for the rows merges move: every version of each record, task or
    activity the customer holds now, so an older version (before a merge or its undo, under another
    customer) cannot come back as the latest once the customer's own is deleted. Versions the
    customer held before a merge took the row to another customer go with the generic delete by
    `customer_id` (erasure.py); the row itself stays with the customer that holds it, its
    `moved_from` cleared."""
    for table, key, _ in _MOVED:
        if table not in tables:
            continue
        held = await analytics.query(TenantQuery(table, tenant_id, final=True).select(key)
                                     .where("customer_id = {customer_id:UUID}", customer_id=customer_id))
        keys = [str(row[key]) for row in held]
        if keys:
            await analytics.delete_tenant(TenantDelete(table, tenant_id).where(
                f"toString({key}) IN {{keys:Array(String)}}", keys=keys))
        # Rows a merge took from this customer to the survivor stay with the survivor, without the
        # erased id (their undo can no longer give them back: followups does not either).
        survivors = await analytics.query(TenantQuery(table, tenant_id, final=True).select("*")
                                          .where("moved_from = {moved_from:String}", moved_from=str(customer_id)))
        if survivors:
            await analytics.insert(table, [{**row, "tenant_id": tenant_id, "moved_from": "", "merge_id": "",
                                            "version": int(row["version"]) + 1} for row in survivors])
            await analytics.delete_tenant(TenantDelete(table, tenant_id).where(
                "moved_from = {moved_from:String}", moved_from=str(customer_id)))
