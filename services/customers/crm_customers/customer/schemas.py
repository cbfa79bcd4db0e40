"""The one mapping from a stored customer to its contract shape (API replies and event data)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final

import sqlalchemy as sa
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from crm_proto.crm.customers.v1 import customers_pb2 as pb

# Text fields of CustomerInput (custom_fields travels as a Struct).
WRITABLE_FIELDS: Final = (
    "code", "name", "type", "industry", "region", "mobile", "email", "owner_id", "status", "contact_person", "phone",
    "first_contact_date", "source", "employees", "annual_revenue", "annual_revenue_currency", "needs", "notes",
    "credit_code", "resident_id", "bank_card",
)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def ts(value: Any) -> Timestamp | None:
    """`Timestamp.FromDatetime(value)` (a naive datetime taken as UTC) at a third of its cost: a
    list page makes three per customer (tests/customers/test_customer_json.py)."""
    if value is None:
        return None
    since = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000)


_NO_TAGS: Final = object()


def to_proto(row: sa.Row[Any]) -> pb.Customer:
    custom = Struct()
    custom.update(row.custom_fields or {})
    message = pb.Customer(
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
        created_at=ts(row.created_at),
        updated_at=ts(row.updated_at),
        created_by=row.created_by,
        updated_by=row.updated_by,
        contact_person=row.contact_person,
        phone=row.phone,
        first_contact_date=row.first_contact_date.isoformat() if row.first_contact_date else "",
        source=row.source,
        annual_revenue=f"{row.annual_revenue:.2f}" if row.annual_revenue is not None else "",
        annual_revenue_currency=row.annual_revenue_currency,
        needs=row.needs,
        notes=row.notes,
        credit_code=row.credit_code,
        custom_fields=custom,
        deleted_at=ts(row.deleted_at),
        deleted_by=row.deleted_by,
        # Only the masked forms ever leave the service here (replies and event data alike).
        resident_id=row.resident_id_masked,
        bank_card=row.bank_card_masked,
    )
    if row.employees is not None:
        message.employees = row.employees
    tag_ids: Any = getattr(row, "tag_ids", _NO_TAGS)  # list pages read the tag projection with the row
    if tag_ids is not _NO_TAGS:  # (`row._fields` builds a tuple on every use: a tenth of a page's work)
        message.tag_ids.extend(str(t) for t in tag_ids or ())
    return message


@lru_cache(maxsize=4096)
def _timestamp_json(value: datetime) -> str:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp.ToJsonString()


def _struct_json(value: Any) -> Any:
    """A JSON value as protobuf's Struct gives it back: every number a float."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _struct_json(v) for k, v in value.items()}
    return [_struct_json(v) for v in value]


def to_json(row: Any) -> dict[str, Any]:
    """Exactly `proto_data(to_proto(row))` (proto3 JSON with the .proto names: int64 as strings,
    RFC 3339 timestamps, Struct numbers as floats), built without the message: at a million
    imported customers building and walking the message cost more than checking the rows
    (docs/benchmarks.md). tests/customers/test_customer_json.py compares both."""
    out: dict[str, Any] = {
        "id": str(row.id), "code": row.code, "name": row.name, "type": row.type, "industry": row.industry,
        "region": row.region, "mobile": row.mobile, "email": row.email, "owner_id": str(row.owner_id or ""),
        "status": row.status, "version": str(row.version or 0),
    }
    if row.created_at is not None:
        out["created_at"] = _timestamp_json(row.created_at)
    if row.updated_at is not None:
        out["updated_at"] = _timestamp_json(row.updated_at)
    out |= {
        "created_by": row.created_by, "updated_by": row.updated_by, "contact_person": row.contact_person,
        "phone": row.phone,
        "first_contact_date": row.first_contact_date.isoformat() if row.first_contact_date else "",
        "source": row.source,
    }
    if row.employees is not None:
        out["employees"] = str(row.employees)
    out |= {
        "annual_revenue": f"{row.annual_revenue:.2f}" if row.annual_revenue is not None else "",
        "annual_revenue_currency": row.annual_revenue_currency, "needs": row.needs, "notes": row.notes,
        "credit_code": row.credit_code, "custom_fields": _struct_json(row.custom_fields or {}),
    }
    if row.deleted_at is not None:
        out["deleted_at"] = _timestamp_json(row.deleted_at)
    out |= {
        "deleted_by": row.deleted_by, "resident_id": row.resident_id_masked, "bank_card": row.bank_card_masked,
        "possible_duplicates": [], "owner_name": "", "created_by_name": "", "updated_by_name": "",
        "tag_ids": [str(t) for t in row.tag_ids or ()] if "tag_ids" in row._fields else [],
    }
    return out


def sent_fields(message: pb.CustomerInput) -> dict[str, str]:
    """Only the text fields the caller set (proto3 optional presence)."""
    return {name: getattr(message, name) for name in WRITABLE_FIELDS if message.HasField(name)}


def sent_custom_fields(message: pb.CustomerInput) -> dict[str, Any] | None:
    if not message.HasField("custom_fields"):
        return None
    values: dict[str, Any] = json_format.MessageToDict(message.custom_fields)
    return values
