"""Orders projected from `crm.order.recorded` into chDB (ReplacingMergeTree by version) and the spend
reports over real gRPC behind the edge interceptor: figures, tenant isolation, and the field
policies of the verified token (`field_hidden` for hidden spend figures or a hidden dimension)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import grpc
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from crm_platform.auth import JwksCache, Scope, TokenVerifier
from crm_platform.db import create_engine
from crm_platform.errors import decode_rpc_error
from crm_platform.events import CloudEvent, event_type, proto_data
from crm_platform.grpc_client import call_metadata
from crm_platform.grpc_server import EdgeInterceptor, create_server
from crm_proto.crm.events.v1 import events_pb2
from crm_proto.crm.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from crm_reporting.analytics import Analytics
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.customers.servicer import ReportingServicer
from crm_reporting.orders.service import order_reports
from crm_reporting.projection import EventProjector

ISSUER, AUDIENCE = "crm-identity", "crm-api"
KEY = ECKey.generate_key("P-256", parameters={"kid": "orders-test-key"})


def mint(tenant: uuid.UUID, **claims: Any) -> str:
    body = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "tid": str(tenant), "client_id": "web",
        "scope": Scope.REPORTS_READ.value, "exp": int(time.time()) + 300, **claims,
    }
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": KEY.kid}, body, KEY)


async def jwks() -> dict[str, Any]:
    return {"keys": [KEY.as_dict(private=False)]}


@pytest.fixture(scope="module")
async def stub(chdb_analytics: ChdbAnalytics) -> AsyncIterator[reporting_pb2_grpc.ReportingServiceStub]:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/nowhere")
    server, port = create_server(EdgeInterceptor(TokenVerifier(JwksCache(jwks), ISSUER, AUDIENCE)), "127.0.0.1", 0)
    reporting_pb2_grpc.add_ReportingServiceServicer_to_server(ReportingServicer(engine, chdb_analytics), server)
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield reporting_pb2_grpc.ReportingServiceStub(channel)
    await server.stop(None)
    await engine.dispose()


def order_event(tenant: uuid.UUID, order_id: uuid.UUID, customer: uuid.UUID, *, amount: str, day: str,
                version: int = 1, status: str = "paid", kind: str = "order", currency: str = "CNY") -> CloudEvent:
    data = proto_data(events_pb2.OrderRecorded(
        order_id=str(order_id), external_id=f"E-{order_id.hex[:6]}", customer_id=str(customer), kind=kind,
        amount=amount, currency=currency, ordered_on=day, status=status, version=version,
    ))
    return CloudEvent.new(source="crm/customers", type=event_type("order", "recorded"), tenant_id=tenant, data=data,
                          subject=str(order_id))


async def _project(analytics: Analytics, events: list[CloudEvent]) -> None:
    projector = EventProjector(analytics)
    for event in events:
        await projector.project(event)


async def test_spend_by_month_and_customer_value(analytics: Analytics, tenant: uuid.UUID,
                                                 other_tenant: uuid.UUID) -> None:
    big, small = uuid.uuid4(), uuid.uuid4()
    o1, o2 = uuid.uuid4(), uuid.uuid4()
    await _project(analytics, [
        order_event(tenant, o1, big, amount="1000.00", day="2026-01-10"),
        order_event(tenant, o1, big, amount="1200.50", day="2026-01-10", version=2),  # correction wins
        order_event(tenant, o1, big, amount="1000.00", day="2026-01-10"),  # late old copy loses
        order_event(tenant, o2, small, amount="99.99", day="2026-01-31", status="confirmed"),
        order_event(tenant, uuid.uuid4(), big, amount="300.00", day="2026-03-01"),
        order_event(tenant, uuid.uuid4(), small, amount="5.00", day="2026-03-02", status="pending"),
        order_event(tenant, uuid.uuid4(), small, amount="8000.00", day="2026-03-02", kind="contract"),
        order_event(tenant, uuid.uuid4(), small, amount="20", day="2026-03-05", currency="USD"),
        order_event(other_tenant, uuid.uuid4(), uuid.uuid4(), amount="777.00", day="2026-01-10"),
    ])
    report = await order_reports.spend_by_month(analytics, tenant, from_month="2026-01", to_month="2026-03",
                                                currency="")
    assert [(r.month, r.currency, r.amount, r.orders) for r in report.rows] == [
        ("2026-01", "CNY", "1300.49", 2), ("2026-03", "CNY", "300.00", 1), ("2026-03", "USD", "20.00", 1),
    ]
    default = await order_reports.spend_by_month(analytics, tenant, from_month="", to_month="", currency="CNY",
                                                 today=date(2026, 3, 20))
    assert (default.from_month, default.to_month) == ("2025-04", "2026-03") and len(default.rows) == 2
    currency, top = await order_reports.customer_value(analytics, tenant, currency="CNY", limit=10)
    assert currency == "CNY"
    assert [(r.customer_id, r.lifetime_value, r.orders, r.last_ordered_on) for r in top] == [
        (str(big), "1500.50", 2, "2026-03-01"), (str(small), "99.99", 1, "2026-01-31"),
    ]
    # A merge moves an order to the survivor with a higher version: the value follows it.
    await _project(analytics, [order_event(tenant, o2, big, amount="99.99", day="2026-01-31", status="confirmed",
                                           version=2)])
    _, top = await order_reports.customer_value(analytics, tenant, currency="CNY", limit=1)
    assert [(r.customer_id, r.lifetime_value) for r in top] == [(str(big), "1600.49")]


async def test_reports_over_grpc_follow_token_tenant_and_field_policies(
    stub: reporting_pb2_grpc.ReportingServiceStub, chdb_analytics: ChdbAnalytics, tenant: uuid.UUID,
    other_tenant: uuid.UUID,
) -> None:
    customer = uuid.uuid4()
    await _project(chdb_analytics, [order_event(tenant, uuid.uuid4(), customer, amount="42.00", day="2026-02-02")])
    request = reporting_pb2.GetSpendReportRequest(from_month="2026-01", to_month="2026-03")
    mine = await stub.GetSpendReport(request, metadata=call_metadata(mint(tenant)), timeout=10)
    assert [(r.month, r.amount) for r in mine.rows] == [("2026-02", "42.00")]
    theirs = await stub.GetSpendReport(request, metadata=call_metadata(mint(other_tenant)), timeout=10)
    assert list(theirs.rows) == []
    value = await stub.GetCustomerValueReport(reporting_pb2.GetCustomerValueReportRequest(),
                                              metadata=call_metadata(mint(tenant)), timeout=10)
    assert value.currency == "CNY" and [r.customer_id for r in value.rows] == [str(customer)]

    cases = [
        (stub.GetSpendReport, request, {"annual_spend": "hidden"}, ["annual_spend"]),
        (stub.GetCustomerValueReport, reporting_pb2.GetCustomerValueReportRequest(),
         {"lifetime_value": "masked", "annual_spend": "hidden"}, ["lifetime_value"]),
        (stub.GetCustomersByIndustry, reporting_pb2.GetCustomersByIndustryRequest(), {"industry": "hidden"},
         ["industry"]),
    ]
    for method, req, policies, fields in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await method(req, metadata=call_metadata(mint(tenant, fp=policies)), timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        detail = decode_rpc_error(caught.value)
        assert detail.code == "field_hidden" and detail.extra == {"fields": fields}
    # read_only is readable; masked counts as hidden for figures and dimensions.
    allowed = await stub.GetSpendReport(request, metadata=call_metadata(mint(tenant, fp={"annual_spend": "read_only"})),
                                        timeout=10)
    assert [r.amount for r in allowed.rows] == ["42.00"]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.GetSpendReport(reporting_pb2.GetSpendReportRequest(from_month="2026-13", currency="cny"),
                                  metadata=call_metadata(mint(tenant)), timeout=10)
    assert sorted(e["field"] for e in decode_rpc_error(caught.value).errors) == ["currency", "from_month"]
