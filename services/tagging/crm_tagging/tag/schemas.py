"""The one mapping from stored tags to their contract shapes (API replies and event data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from crm_proto.crm.tagging.v1 import tagging_pb2 as pb


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def tag_to_proto(row: sa.Row[Any]) -> pb.Tag:
    """`row` is a tags row with `customer_count` (repository._tags_with_counts)."""
    tag = pb.Tag(id=str(row.id), name=row.name, color=row.color, created_at=timestamp(row.created_at),
                 description=row.description, category_id=str(row.category_id or ""),
                 exclusive_group=row.exclusive_group, archived=row.archived_at is not None,
                 customer_count=int(row.customer_count), version=row.version)
    if row.archived_at is not None:
        tag.archived_at.CopyFrom(timestamp(row.archived_at))
    if row.updated_at is not None:
        tag.updated_at.CopyFrom(timestamp(row.updated_at))
    return tag


def category_to_proto(row: sa.Row[Any]) -> pb.TagCategory:
    return pb.TagCategory(id=str(row.id), key=row.key or "", name=row.name, description=row.description,
                          position=row.position, tag_count=int(row.tag_count), created_at=timestamp(row.created_at))


def settings_to_proto(row: sa.Row[Any]) -> pb.TaggingSettings:
    return pb.TaggingSettings(max_tags_per_customer=row.max_tags_per_customer, version=row.version,
                              updated_at=timestamp(row.updated_at))


def customer_tag_to_proto(row: sa.Row[Any]) -> pb.CustomerTag:
    """`row` is a customer_tags row joined with its tag's name and colour (`tag_name`, `tag_color`)."""
    return pb.CustomerTag(
        customer_id=str(row.customer_id), tag_id=str(row.tag_id), tag_name=row.tag_name, source=row.source,
        rule_id=str(row.rule_id or ""), applied_at=timestamp(row.applied_at), tag_color=row.tag_color,
        applied_by=row.applied_by, trigger=row.trigger, rule_name=row.rule_name,
    )
