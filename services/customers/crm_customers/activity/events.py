"""The `customers-activity` consumer: other services' events about a customer become timeline
entries (tagging's `tag.applied` / `tag.removed`, followups' `followup_task.created` /
`followup_task.completed`, `followup_record.created`, orders' `order.recorded`). Subjects nobody publishes yet simply
deliver nothing. Events about a customer this tenant does not hold are skipped."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.activity import repository
from crm_customers.activity.kinds import (
    FOLLOWUP_RECORDED,
    ORDER_RECORDED,
    TAG_APPLIED,
    TAG_REMOVED,
    TASK_COMPLETED,
    TASK_CREATED,
)
from crm_platform.consumer import Subscription
from crm_platform.events import CloudEvent

DURABLE_NAME = "customers-activity"


def _tag(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`TagApplied` / `TagRemoved`. A tag moved by a merge or its undo (source "merge") is not
    news: the merge is on the timeline already, and moves the timeline itself."""
    if data.get("source") == "merge":
        return "", {}
    return str(data.get("customer_id") or ""), {
        "tag_id": data.get("tag_id", ""), "tag_name": data.get("tag_name", ""), "source": data.get("source", ""),
        "rule_id": data.get("rule_id", ""),
    }


def _task(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    task = data.get("task") or {}
    return str(task.get("customer_id") or ""), {
        "task_id": task.get("id", ""), "title": task.get("title", ""), "due_at": task.get("due_at", ""),
        "assignee_id": task.get("assignee_id", ""), "cadence_rule_id": task.get("cadence_rule_id", ""),
    }


# A timeline entry shows what was said; the full text stays with the record in followups.
RECORD_CONTENT_SHOWN = 2000


def _record(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`FollowupRecordCreated`: method and result as codes and as names in both languages."""
    record = data.get("record") or {}
    return str(record.get("customer_id") or ""), {
        "record_id": record.get("id", ""), "number": record.get("number", ""),
        "followed_at": record.get("followed_at", ""), "method": record.get("method", ""),
        "result": record.get("result", ""), "content": str(record.get("content", ""))[:RECORD_CONTENT_SHOWN],
        "next_followup_at": record.get("next_followup_at", ""),
        **{k: data.get(k, "") for k in ("method_en", "method_zh", "result_en", "result_zh")},
    }


def _order(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`OrderRecorded` (orders/events.py). A re-pointing by a merge (`moved`) is not news: the
    merge moves the timeline itself."""
    if data.get("moved"):
        return "", {}
    keys = ("order_id", "external_id", "kind", "amount", "currency", "ordered_on", "status", "version")
    return str(data.get("customer_id") or ""), {k: data[k] for k in keys if k in data}


# event type -> (timeline kind, how to read the customer id and the entry's data)
READERS: dict[str, tuple[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]]] = {
    "crm.tag.applied": (TAG_APPLIED, _tag),
    "crm.tag.removed": (TAG_REMOVED, _tag),
    "crm.followup_task.created": (TASK_CREATED, _task),
    "crm.followup_task.completed": (TASK_COMPLETED, _task),
    "crm.order.recorded": (ORDER_RECORDED, _order),
    "crm.followup_record.created": (FOLLOWUP_RECORDED, _record),
}
SUBJECTS = ["crm.*.tag.applied", "crm.*.tag.removed", "crm.*.followup_task.created",
            "crm.*.followup_task.completed", "crm.*.order.recorded", "crm.*.followup_record.created"]


def _actor(data: dict[str, Any]) -> str:
    for key in ("actor", "completed_by", "created_by", "followed_by"):
        value = data.get(key) or (data.get("task") or {}).get(key) or (data.get("record") or {}).get(key)
        if value:
            return str(value)
    return ""


async def record_event(event: CloudEvent, session: AsyncSession) -> None:
    reader = READERS.get(event.type)
    if reader is None:
        return
    kind, read = reader
    raw_customer, data = read(event.data)
    try:
        customer_id = uuid.UUID(raw_customer)
    except ValueError:
        return
    if not await repository.customer_exists(session, customer_id):
        return
    try:
        occurred_at = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    except ValueError:
        occurred_at = None
    await repository.add(session, customer_id, kind, _actor(event.data), {**data, "event_id": event.id},
                         occurred_at=occurred_at)


def activity_subscription() -> Subscription:
    return Subscription(durable=DURABLE_NAME, filter_subjects=SUBJECTS, handler=record_event)
