"""The one mapping from a stored customer to its contract shape (API replies and event data)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from crm_proto.crm.customers.v1 import customers_pb2 as pb

WRITABLE_FIELDS = ("code", "name", "type", "industry", "region", "mobile", "email", "owner_id", "status")


def _ts(value: Any) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def to_proto(row: sa.Row[Any]) -> pb.Customer:
    return pb.Customer(
        id=str(row.id),
        code=row.code,
        name=row.name,
        type=row.type,
        industry=row.industry,
        region=row.region,
        mobile=row.mobile,
        email=row.email,
        owner_id=str(row.owner_id or ""),
        status=row.status,
        version=row.version,
        created_at=_ts(row.created_at),
        updated_at=_ts(row.updated_at),
        created_by=row.created_by,
        updated_by=row.updated_by,
    )


def sent_fields(message: pb.CustomerInput) -> dict[str, str]:
    """Only the fields the caller set (proto3 optional presence)."""
    return {name: getattr(message, name) for name in WRITABLE_FIELDS if message.HasField(name)}
