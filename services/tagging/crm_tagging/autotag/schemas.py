"""The one mapping from a stored auto-tag rule (and a tagging job) to its contract shape."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_tagging.autotag.conditions import is_time_based
from crm_tagging.tag.schemas import timestamp


def rule_to_proto(row: sa.Row[Any]) -> pb.TagRule:
    """`row` is a tag_rules row with its tag's name (repository._with_tag)."""
    rule = pb.TagRule(
        id=str(row.id), tag_id=str(row.tag_id), field=row.field or "", operator=row.operator or "",
        value=row.value or "", enabled=row.enabled, created_at=timestamp(row.created_at), name=row.name,
        conditions_json=json.dumps(row.conditions, ensure_ascii=False), action=row.action, priority=row.priority,
        version=row.version, tag_name=row.tag_name, time_based=is_time_based(row.conditions),
    )
    if row.updated_at is not None:
        rule.updated_at.CopyFrom(timestamp(row.updated_at))
    if row.last_run_at is not None:
        rule.last_run_at.CopyFrom(timestamp(row.last_run_at))
    return rule


def job_to_proto(row: sa.Row[Any]) -> pb.TagJob:
    job = pb.TagJob(id=str(row.id), kind=row.kind, status=row.status, done=row.progress_done or 0,
                    total=row.progress_total or 0, last_error=row.last_error or "",
                    result_json=json.dumps(row.result, ensure_ascii=False) if row.result is not None else "")
    if row.created_at is not None:
        job.created_at.CopyFrom(timestamp(row.created_at))
    if row.updated_at is not None:
        job.updated_at.CopyFrom(timestamp(row.updated_at))
    return job
