"""The one mapping between stored tasks and their contract shape (API replies and event data)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.errors import FieldError, InvalidInput
from crm_proto.crm.followups.v1 import followups_pb2 as pb


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def sent_datetime(message: Any, field: str) -> datetime | None:
    """A Timestamp field as an aware UTC datetime; None when the caller did not set it."""
    if not message.HasField(field):
        return None
    try:
        value: datetime = getattr(message, field).ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidInput([FieldError(field, "invalid_timestamp", f"{field} is out of range")]) from None
    return value


def optional_timestamp(value: datetime | None) -> Timestamp | None:
    return None if value is None else timestamp(value)


def task_to_proto(row: sa.Row[Any], now: datetime | None = None) -> pb.Task:
    """`overdue`: open and past its planned time at `now` (the time of the read)."""
    return pb.Task(
        id=str(row.id), customer_id=str(row.customer_id), title=row.title, due_at=timestamp(row.due_at),
        status=row.status, assignee_id=str(row.assignee_id or ""), cadence_rule_id=str(row.cadence_rule_id or ""),
        created_at=timestamp(row.created_at), created_by=row.created_by, method=row.method, content=row.content,
        completed_at=optional_timestamp(row.completed_at), record_id=str(row.record_id or ""),
        overdue=row.status == "open" and row.due_at < (now or datetime.now(UTC)),
        source_record_id=str(row.source_record_id or ""),
    )
