"""`schemas.to_json` (the import's event encoder) is exactly `proto_data(to_proto(row))`, the one
contract mapping, for rows with every kind of value."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from crm_customers.customer.schemas import to_json, to_proto, ts
from crm_customers.customer.tables import customers
from crm_platform.events import proto_data

FIELDS = tuple(c.name for c in customers.c)


def _row(**values: Any) -> Any:
    base: dict[str, Any] = {c: "" for c in FIELDS}
    base |= {"id": uuid.uuid4(), "owner_id": None, "version": 1, "created_at": datetime(2026, 12, 7, 11, 0, tzinfo=UTC),
             "updated_at": datetime(2026, 12, 7, 11, 0, 0, 123456, tzinfo=UTC), "first_contact_date": None,
             "employees": None, "annual_revenue": None, "custom_fields": {}, "deleted_at": None,
             "resident_id_enc": None, "resident_id_bidx": None, "bank_card_enc": None, "bank_card_bidx": None,
             "merged_into": None}
    base |= values
    return SimpleNamespace(_fields=tuple(base), **base)


ROWS = [
    _row(),
    _row(code="C-0001", name="北京星辰科技有限公司", type="enterprise", industry="IT", region="北京/朝阳",
         mobile="+8613800138000", email="a@example.com", owner_id=uuid.uuid4(), status="intent", version=7,
         contact_person="张三", first_contact_date=date(2024, 1, 15), source="expo", employees=120,
         annual_revenue=Decimal("1234567.5"), annual_revenue_currency="CNY", notes="展会获客",
         custom_fields={"level": "A", "score": 3, "ratio": 0.25, "ok": True, "tags": ["x", 2], "nested": {"n": 1},
                        "none": None},
         resident_id_masked="110***********002X", deleted_at=datetime(2026, 12, 8, tzinfo=UTC), deleted_by="user:x"),
    _row(employees=0, annual_revenue=Decimal("0"), updated_at=datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
         tag_ids=[uuid.uuid4(), uuid.uuid4()]),
]


@pytest.mark.parametrize("row", ROWS)
def test_to_json_is_the_proto_json_of_to_proto(row: Any) -> None:
    assert to_json(row) == proto_data(to_proto(row))


@pytest.mark.parametrize("value", [
    datetime(2026, 12, 7, 11, 0, 0, 123456, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 3, 4, 5, 6, 7, 1),
    datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=timezone(timedelta(hours=8))),
    datetime(2026, 3, 4, 0, 30, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
])
def test_timestamps_are_protobufs_own(value: datetime) -> None:
    """`ts` is `Timestamp.FromDatetime` without its overhead: the same seconds and nanos for aware
    datetimes in any zone, naive ones (taken as UTC), before 1970 and at the ends of the range."""
    expected = Timestamp()
    expected.FromDatetime(value)
    assert ts(value) == expected
