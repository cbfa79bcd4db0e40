"""The one mapping from a stored tag batch to its contract shape."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_tagging.tag.schemas import timestamp


def batch_to_proto(row: sa.Row[Any]) -> pb.TagBatch:
    batch = pb.TagBatch(id=str(row.id), action=row.action, tag_ids=[str(t) for t in row.tag_ids], status=row.status,
                        total=len(row.customer_ids), done=row.done, applied=row.applied, removed=row.removed,
                        skipped=row.skipped, actor=row.actor, job_id=str(row.job_id or ""), undone_by=row.undone_by,
                        created_at=timestamp(row.created_at))
    for name in ("finished_at", "undone_at"):
        if getattr(row, name) is not None:
            getattr(batch, name).CopyFrom(timestamp(getattr(row, name)))
    return batch
