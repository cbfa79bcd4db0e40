"""The hot customer reads send their JSON at once (`json_reply`), without building the response
models; the models still document the routes. These tests hold the two to one document: for
messages with every kind of field set, empty, hidden or masked, the bytes sent are the bytes the
model would have sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp

from crm_gateway.api.common import Page, json_reply, timestamp
from crm_gateway.api.customers import (
    Customer,
    CustomerPage,
    customer_out,
    customer_page,
    customer_reply,
    plain_json,
    struct_json,
)
from crm_gateway.api.reports import CustomerValueFigures
from crm_proto.crm.customers.v1 import customers_pb2 as pb


def stamp(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def full() -> pb.Customer:
    message = pb.Customer(
        id="0193a5d2-0000-7000-8000-000000000001", code="C-2026-000123", name="华北精密机械有限公司", type="enterprise",
        contact_person="李雷", mobile="+8613800138000", phone="+861062345678", email="li.lei@example.cn",
        industry="制造", region="华北/北京", source="fair", first_contact_date="2026-03-04",
        owner_id="0193a5d2-0000-7000-8000-0000000000aa", owner_name="王伟", status="intent",
        annual_revenue="1250000.00", annual_revenue_currency="CNY", needs="报价\n第三季度", notes="Met at the fair.",
        credit_code="91110000600037341L", version=7,
        created_at=stamp(datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        updated_at=stamp(datetime(2026, 12, 7, 14, 0, 0, tzinfo=UTC)),
        created_by="0193a5d2-0000-7000-8000-0000000000aa", updated_by="client:bench",
        created_by_name="王伟", updated_by_name="", resident_id="110***********1234", bank_card="6222 **** **** 1234",
        deleted_at=stamp(datetime(2026, 12, 7, 15, 0, 0, 500000, tzinfo=UTC)),
    )
    message.employees = 120
    message.custom_fields.update({"tier": "gold", "score": 3.0, "ratio": 0.25, "flags": ["a", 2.0, True],
                                  "nested": {"n": 10.0, "none": None, "big": 1e20, "neg": -2.5}, "empty": {},
                                  "list": []})
    message.annual_spend.amounts.update({"CNY": "1234.50", "USD": "10.00"})
    message.lifetime_value.SetInParent()  # known, without counted orders: {}
    message.tag_ids.extend(["0193a5d2-0000-7000-8000-0000000000t1", "0193a5d2-0000-7000-8000-0000000000t2"])
    return message


def hidden() -> pb.Customer:
    """What a field policy leaves: hidden fields cleared (spend absent), masked ones `****`."""
    return pb.Customer(id="0193a5d2-0000-7000-8000-000000000002", code="C-1", name="个人客户", type="individual",
                       mobile="****", status="potential", version=1,
                       created_at=stamp(datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)))


MESSAGES = [full(), hidden(), pb.Customer()]


@pytest.mark.parametrize("message", MESSAGES, ids=["full", "hidden", "empty"])
def test_a_customer_is_the_models_document(message: pb.Customer) -> None:
    sent = json_reply(customer_reply(message)).body
    assert sent == customer_out(message).model_dump_json().encode()
    assert Customer.model_validate_json(sent) == customer_out(message)


@pytest.mark.parametrize("message", MESSAGES, ids=["full", "hidden", "empty"])
def test_custom_fields_read_as_the_general_conversion_does(message: pb.Customer) -> None:
    assert struct_json(message.custom_fields) == plain_json(json_format.MessageToDict(message.custom_fields))


def test_the_value_figures_are_the_models_too() -> None:
    figures = CustomerValueFigures(
        customer_id="c", name="", currency="CNY", annual_spend="10.00", orders_12m=1, lifetime_value="12.50",
        orders=2, first_ordered_on="2025-01-01", last_ordered_on="2026-12-01", average_order_value="6.25",
        predicted_value="30.00", segment="potential", recency_score=5, frequency_score=1, monetary_score=2,
        reason_en="recent", reason_zh="最近",
    )
    reply = customer_reply(full()) | {"value": figures}
    model = customer_out(full())
    model.value = figures
    assert json_reply(reply).body == model.model_dump_json().encode()


@pytest.mark.parametrize("next_token", ["", "opaque-token"])
@pytest.mark.parametrize("include_total", [False, True])
def test_a_page_is_the_models_document(next_token: str, include_total: bool) -> None:
    reply = pb.ListCustomersResponse(items=MESSAGES, next_page_token=next_token, total_size=10_000,
                                     total_size_capped=True)
    sent = json_reply(customer_page(reply, include_total=include_total)).body
    items = [customer_out(c).model_copy(update={"tag_ids": list(c.tag_ids)}) for c in reply.items]
    page = CustomerPage(items=items, next_page_token=next_token or None, total_size=None, total_size_capped=None)
    if include_total:
        page.total_size, page.total_size_capped = 10_000, True
    assert sent == page.model_dump_json().encode()
    document: dict[str, Any] = json.loads(sent)
    assert [item["tag_ids"] for item in document["items"]] == [list(c.tag_ids) for c in reply.items]
    assert ("next_page_token" in document) == bool(next_token)
    assert ("total_size" in document) == include_total
    if not include_total:  # a segment's members: the plain page
        assert sent == Page[Customer](items=items, next_page_token=next_token or None).model_dump_json().encode()


@pytest.mark.parametrize(("seconds", "nanos"), [
    (1, 0), (0, 1), (0, 999), (1_765_000_000, 123_456_789), (1_765_000_000, 999_999_999), (-1, 500_000_001),
    (-62_135_596_800, 0), (253_402_300_799, 999_999_999), (1_765_000_000, 1_000),
])
def test_timestamps_convert_as_protobuf_does(seconds: int, nanos: int) -> None:
    """`timestamp` is `ToDatetime(tzinfo=UTC)` without its overhead: the same datetime for any valid
    Timestamp (sub-microsecond nanos, before 1970, the ends of the range)."""
    value = Timestamp(seconds=seconds, nanos=nanos)
    converted = timestamp(value)
    assert converted == value.ToDatetime(tzinfo=UTC) and converted is not None
    assert converted.tzinfo is UTC and converted.isoformat() == value.ToDatetime(tzinfo=UTC).isoformat()
