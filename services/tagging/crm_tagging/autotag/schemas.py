"""The one mapping from a stored auto-tag rule to its contract shape."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_tagging.tag.schemas import timestamp


def rule_to_proto(row: sa.Row[Any]) -> pb.TagRule:
    return pb.TagRule(
        id=str(row.id), tag_id=str(row.tag_id), field=row.field, operator=row.operator, value=row.value,
        enabled=row.enabled, created_at=timestamp(row.created_at),
    )
