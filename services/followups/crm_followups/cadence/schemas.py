"""The one mapping from a stored cadence rule to its contract shape."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm_followups.task.schemas import optional_timestamp, timestamp
from crm_proto.crm.followups.v1 import followups_pb2 as pb


def rule_to_proto(row: sa.Row[Any]) -> pb.CadenceRule:
    return pb.CadenceRule(id=str(row.id), tag_id=str(row.tag_id), due_in_days=row.due_in_days, title=row.title,
                          created_at=timestamp(row.created_at), rrule=row.rrule, time_zone=row.time_zone,
                          enabled=row.enabled, escalate_after_days=row.escalate_after_days,
                          updated_at=optional_timestamp(row.updated_at))
