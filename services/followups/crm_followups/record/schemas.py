"""The one mapping between stored records and their contract shape."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm_followups.record.dictionaries import Dictionary, Entry
from crm_followups.task.schemas import optional_timestamp, timestamp
from crm_proto.crm.followups.v1 import followups_pb2 as pb


def record_to_proto(row: sa.Row[Any]) -> pb.Record:
    return pb.Record(
        id=str(row.id), number=row.number, customer_id=str(row.customer_id), followed_at=timestamp(row.followed_at),
        method=row.method, content=row.content, result=row.result,
        next_followup_at=optional_timestamp(row.next_followup_at), followed_by=row.followed_by,
        task_id=str(row.task_id or ""), next_task_id=str(row.next_task_id or ""),
        created_at=timestamp(row.created_at), created_by=row.created_by,
    )


def dictionary_to_proto(dictionary: Dictionary) -> pb.Dictionary:
    return pb.Dictionary(name=dictionary.name, entries=[
        pb.DictionaryEntry(code=e.code, label_en=e.label_en, label_zh=e.label_zh) for e in dictionary.entries
    ])


def entries_from_proto(message: pb.ReplaceDictionaryRequest) -> list[Entry]:
    return [Entry(e.code, e.label_en, e.label_zh) for e in message.entries]
