"""The hot customer reads (api/hot_reads.py, issue 9 §6) answer exactly as the FastAPI routes they
stand before: the same status, headers (ETag, RateLimit-*) and body, and the same request to the
customers service, with the same metadata, for what they take; everything else (no token, a
missing scope, other or odd parameters, escapes) goes to the FastAPI route. Each request is sent to
two apps, with and without the hot routes, and the answers compared."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from crm_gateway.api.hot_reads import HotRead
from crm_gateway.app import create_app
from crm_gateway.settings import GatewaySettings
from crm_platform.auth import JwksCache, TokenVerifier
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.bench.bench_gateway_reads import seeded_customer
from tests.gateway.gateway_testkit import AUDIENCE, ISSUER, make_token

MISSING = "0193a5d2-0000-7000-8000-00000000dead"
ONE = seeded_customer(1)
ONE.custom_fields.update({"level": "gold", "score": 7})
ONE.employees = 12
PAGE = pb.ListCustomersResponse(items=[seeded_customer(n) for n in range(3)], next_page_token="next")


class RecordingCustomers:
    """The customers stub: canned replies (404 for `MISSING`), every request and its metadata kept."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, tuple[tuple[str, str], ...]]] = []

    def _record(self, name: str, request: Any, metadata: Any) -> None:
        # The trace context differs per request; everything else must be the same.
        self.calls.append((name, request.SerializeToString(deterministic=True),
                           tuple((k, v) for k, v in metadata if k != "traceparent")))

    async def GetCustomer(self, request: Any, *, metadata: Any = (), **call: Any) -> pb.Customer:
        self._record("GetCustomer", request, metadata)
        if request.id == MISSING:
            raise grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                       details="customer not found")
        return pb.Customer.FromString(ONE.SerializeToString())

    async def ListCustomers(self, request: Any, *, metadata: Any = (), **call: Any) -> Any:
        self._record("ListCustomers", request, metadata)
        return pb.ListCustomersResponse.FromString(PAGE.SerializeToString())


class Backends:
    def __init__(self) -> None:
        self.customers = RecordingCustomers()


@pytest.fixture
def apps(settings: GatewaySettings, signing_key: ECKey) -> Iterator[tuple[TestClient, TestClient, Backends, Backends]]:
    public = {"keys": [{**signing_key.as_dict(private=False), "use": "sig", "alg": "ES256"}]}

    async def local_jwks() -> dict[str, Any]:
        return public

    made = []
    for hot in (True, False):
        backends = Backends()
        app = create_app(settings, backends=backends,  # type: ignore[arg-type]
                         verifier=TokenVerifier(JwksCache(local_jwks), ISSUER, AUDIENCE))
        if not hot:
            app.router.routes[:] = [r for r in app.router.routes if not isinstance(r, HotRead)]
        made.append((app, backends))
    with TestClient(made[0][0], raise_server_exceptions=False) as hot_client, \
            TestClient(made[1][0], raise_server_exceptions=False) as plain_client:
        yield hot_client, plain_client, made[0][1], made[1][1]


def _taken(client: TestClient) -> list[HotRead]:
    return [r for r in client.app.router.routes if isinstance(r, HotRead)]  # type: ignore[attr-defined]


def _answer(reply: Any) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in reply.headers.items() if k not in ("date", "traceparent", "x-trace-id")}
    body = reply.json() if reply.content else None
    if isinstance(body, dict):
        body.pop("trace_id", None)
    return reply.status_code, headers, reply.content if reply.status_code == 200 else body


CUSTOMER = "/v1/customers/0193a5d2-0000-7000-8000-000000000001"
TAKEN = [
    CUSTOMER, f"{CUSTOMER}?show_deleted=true", f"{CUSTOMER}?show_deleted=false", f"/v1/customers/{MISSING}",
    "/v1/customers/not-a-uuid", "/v1/customers", "/v1/customers?page_size=50", "/v1/customers?page_size=999",
    "/v1/customers?page_size=20&page_token=abc_-9", "/v1/customers?page_token=&page_size=1",
]
LEFT = [
    f"{CUSTOMER}?show_deleted=1", f"{CUSTOMER}?show_deleted=True", f"{CUSTOMER}?show_deleted", f"{CUSTOMER}?x=1",
    f"{CUSTOMER}?show_deleted=true&show_deleted=false", "/v1/customers/%E2%80%AEbad", "/v1/customers/a:b",
    "/v1/customers?page_size=0", "/v1/customers?page_size=abc", "/v1/customers?page_size=050",
    "/v1/customers?page_size=50&page_size=10", "/v1/customers?page_size=50&status=won",
    "/v1/customers?page_token=a%3Db", "/v1/customers?cf.level=gold", "/v1/customers?page_size=%E2%80%AE",
    "/v1/customers?q=%E6%98%9F",
]


WHO = {
    "client": {"uid": None, "scope": "customers:read"},
    "rep": {"scope": "customers:read customers:write", "ds": "own", "fp": {"mobile": "hidden"}},
    "no_scope": {"scope": "tags:read"},
    "no_token": None,
    "bad_token": None,
}


def test_hot_reads_answer_as_the_routes_do(apps: Any, signing_key: ECKey) -> None:
    """Every path with every kind of caller, in one app pair (each app costs a start-up)."""
    hot, plain, hot_backends, plain_backends = apps
    taken: list[str] = []
    for route in _taken(hot):
        async def counted(*arguments: Any, _route: HotRead = route, _handler: Any = route.handler) -> Any:
            taken.append(_route.path.pattern)
            return await _handler(*arguments)
        route.handler = counted
    for who, claims in WHO.items():
        for path in TAKEN + LEFT:
            headers = {"Accept-Language": "en"}
            if who == "bad_token":
                headers["Authorization"] = "Bearer not.a.token"
            elif claims is not None:  # each its own client: no request meets another's rate limit
                token = make_token(signing_key, **claims, client_id=f"c-{uuid.uuid4()}")
                headers["Authorization"] = f"Bearer {token}"
            taken.clear()
            assert _answer(hot.get(path, headers=headers)) == _answer(plain.get(path, headers=headers)), (who, path)
            assert hot_backends.customers.calls == plain_backends.customers.calls, (who, path)
            assert bool(taken) == (path in TAKEN and claims is not None and who != "no_scope"), (who, path, taken)


def test_hot_reads_are_not_in_the_openapi_document(apps: Any) -> None:
    """FastAPI documents its `APIRoute`s only (the document itself: test_gateway_openapi.py)."""
    hot, plain, _, _ = apps
    assert len(_taken(hot)) == 2 and not _taken(plain)
    assert not any(isinstance(route, APIRoute) for route in _taken(hot))


def test_hot_reads_are_charged(apps: Any, signing_key: ECKey) -> None:
    """The rate limit charges before any route runs: a hot read carries the `RateLimit-*` headers
    (their values are compared with the FastAPI route's above) before the route runs."""
    hot, _, _, _ = apps
    token = make_token(signing_key, uid=None, scope="customers:read", client_id=f"c-{uuid.uuid4()}")
    replies = [hot.get(CUSTOMER, headers={"Authorization": f"Bearer {token}"}) for _ in range(3)]
    assert [r.status_code for r in replies] == [200] * 3
    names = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
    assert all(name in r.headers for r in replies for name in names)
