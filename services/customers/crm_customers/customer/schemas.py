"""The one mapping from a stored customer to its contract shape (API replies and event data)."""

from __future__ import annotations

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


def ts(value: Any) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


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
    if "tag_ids" in row._fields:  # list pages read the tag projection with the row
        message.tag_ids.extend(str(t) for t in row.tag_ids or ())
    return message


def sent_fields(message: pb.CustomerInput) -> dict[str, str]:
    """Only the text fields the caller set (proto3 optional presence)."""
    return {name: getattr(message, name) for name in WRITABLE_FIELDS if message.HasField(name)}


def sent_custom_fields(message: pb.CustomerInput) -> dict[str, Any] | None:
    if not message.HasField("custom_fields"):
        return None
    values: dict[str, Any] = json_format.MessageToDict(message.custom_fields)
    return values
