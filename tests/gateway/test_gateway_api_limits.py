"""Rate limits (token buckets) and Idempotency-Key at the gateway's edge, without backends: the
buckets with a hand-driven clock, the middleware and the NATS key-value records through the app
(every backend call fails with 503, which is exactly what a released key needs)."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import nats.js.errors
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey

from crm_gateway import idempotency
from crm_gateway.app import create_app, rate_limiter
from crm_gateway.idempotency import Claimed, Fingerprint, IdempotencyStore, Record
from crm_gateway.ratelimit import BucketPolicy, RateLimiter
from crm_gateway.settings import GatewaySettings
from crm_platform.auth import JwksCache, Principal, TokenVerifier
from tests.gateway.gateway_testkit import AUDIENCE, ISSUER, assert_problem, make_token


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def principal(tenant: uuid.UUID, client_id: str = "erp", subject: str = "client:erp") -> Principal:
    return Principal(tenant_id=tenant, subject=subject, client_id=client_id, scopes=frozenset())


# -- token buckets ------------------------------------------------------------------------------


def test_a_client_gets_its_burst_then_waits_for_the_refill() -> None:
    clock = Clock()
    limiter = RateLimiter(BucketPolicy(rate=2, burst=3), BucketPolicy(rate=100, burst=100), clock)
    caller = principal(uuid.uuid4())
    decisions = [limiter.charge(caller) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[0].limit == 3  # the client bucket is the tighter one
    refused = decisions[3]
    assert refused.retry_after == 1 and refused.headers()["Retry-After"] == "1"
    assert refused.reset_seconds == 2  # 3 tokens at 2 per second
    assert "Retry-After" not in decisions[0].headers()
    clock.now += 0.5  # one token back
    assert limiter.charge(caller).allowed
    assert not limiter.charge(caller).allowed


def test_gateway_workers_share_the_budget(settings: GatewaySettings) -> None:
    """Buckets are per process: with two workers each allows half, so the replica as a whole never
    allows more than the configured figures."""
    figures = {"rate_limit_client_per_second": 10.0, "rate_limit_client_burst": 50,
               "rate_limit_tenant_per_second": 50.0, "rate_limit_tenant_burst": 200}
    one = rate_limiter(settings.model_copy(update={**figures, "workers": 1}))
    two = rate_limiter(settings.model_copy(update={**figures, "workers": 2}))
    assert (one.client_policy, one.tenant_policy) == (BucketPolicy(10.0, 50), BucketPolicy(50.0, 200))
    assert (two.client_policy, two.tenant_policy) == (BucketPolicy(5.0, 25), BucketPolicy(25.0, 100))
    caller = principal(uuid.uuid4())
    assert sum(two.charge(caller).allowed for _ in range(60)) == 25


def test_a_refused_request_costs_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(BucketPolicy(rate=1, burst=2), BucketPolicy(rate=1, burst=10), clock)
    caller = principal(uuid.uuid4())
    for _ in range(10):
        limiter.charge(caller)
    clock.now += 1
    assert limiter.charge(caller).allowed  # ten refusals did not dig a hole to climb out of


def test_the_tenant_bucket_is_shared_by_its_clients_and_users() -> None:
    clock = Clock()
    limiter = RateLimiter(BucketPolicy(rate=0.01, burst=3), BucketPolicy(rate=0.01, burst=5), clock)
    tenant = uuid.uuid4()
    erp, web_user = principal(tenant, "erp"), principal(tenant, "crm-web", "user-1")
    assert all(limiter.charge(erp).allowed for _ in range(3))
    assert not limiter.charge(erp).allowed  # erp's own bucket is empty
    assert limiter.charge(web_user).allowed
    last = limiter.charge(web_user)
    assert last.allowed and last.limit == 5 and last.remaining == 0  # the tenant's is now the tighter
    refused = limiter.charge(web_user)
    assert not refused.allowed and refused.retry_after == 100
    # Another user of the same client, and another tenant, have buckets of their own.
    assert not limiter.charge(principal(tenant, "crm-web", "user-2")).allowed  # same tenant: empty
    assert limiter.charge(principal(uuid.uuid4(), "erp")).allowed


def test_idle_buckets_are_dropped_once_full() -> None:
    clock = Clock()
    limiter = RateLimiter(BucketPolicy(rate=1, burst=2), BucketPolicy(rate=1, burst=2), clock)
    limiter.charge(principal(uuid.uuid4()))
    assert len(limiter.buckets) == 2
    clock.now += 120
    limiter.charge(principal(uuid.uuid4()))
    assert len(limiter.buckets) == 2  # the first caller's full buckets went, the new caller's came


# -- the middleware, with a tiny limit ------------------------------------------------------------


@pytest.fixture
def tiny(settings: GatewaySettings, signing_key: ECKey) -> Iterator[TestClient]:
    public = {"keys": [{**signing_key.as_dict(private=False), "use": "sig", "alg": "ES256"}]}

    async def local_jwks() -> dict[str, Any]:
        return public

    limited = settings.model_copy(update={
        "rate_limit_client_per_second": 0.01, "rate_limit_client_burst": 2,
        "rate_limit_tenant_per_second": 0.01, "rate_limit_tenant_burst": 3,
    })
    app = create_app(limited, verifier=TokenVerifier(JwksCache(local_jwks), ISSUER, AUDIENCE))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_api_response_carries_the_figures_and_the_limit_answers_429(tiny: TestClient, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    first = tiny.get("/v1/customers", headers=auth)
    assert first.status_code == 503  # no backend here; the figures are on problems too
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("2", "1")
    assert int(first.headers["RateLimit-Reset"]) == 100
    tiny.get("/v1/customers", headers=auth)
    refused = tiny.get("/v1/customers", headers=auth)
    body = assert_problem(refused, 429, "rate_limited")
    # One token per 100 s; a slow machine may have earned a sliver of it since.
    assert 90 <= int(refused.headers["Retry-After"]) <= 100 and refused.headers["RateLimit-Remaining"] == "0"
    assert "Retry-After" in body["detail"]
    # Pages and OAuth are not /v1: never charged, no figures.
    assert "RateLimit-Limit" not in tiny.get("/healthz").headers


def test_bad_tokens_are_not_charged(tiny: TestClient, signing_key: ECKey) -> None:
    tenant = str(uuid.uuid4())
    expired = make_token(signing_key, tid=tenant, exp=1, iat=0)
    stranger = ECKey.generate_key("P-256", private=True)
    forged = make_token(stranger, header={"kid": signing_key.kid}, tid=tenant)  # claims our key, isn't
    for bad in (expired, forged, "not-a-jwt"):
        for _ in range(3):
            reply = tiny.get("/v1/customers", headers={"Authorization": f"Bearer {bad}"})
            assert_problem(reply, 401, "invalid_token")
            assert "RateLimit-Limit" not in reply.headers
    good = tiny.get("/v1/customers", headers={"Authorization": f"Bearer {make_token(signing_key, tid=tenant)}"})
    assert good.headers["RateLimit-Remaining"] == "1"  # the tenant's full burst was still there


# -- Idempotency-Key against the real NATS key-value bucket ---------------------------------------


def store_of(client: TestClient) -> IdempotencyStore:
    store: IdempotencyStore = client.app.state.idempotency  # type: ignore[attr-defined]
    return store


def test_a_record_keeps_body_bytes_exactly() -> None:
    fingerprint = Fingerprint("POST", "/v1/x:do", "a=1&b=2", hashlib.sha256(b"").hexdigest())
    body = '{"note": "line\none"}\n\x00 二'.encode()
    record = Record("done", fingerprint, status=201, headers=[("location", "/v1/x/1")], body=body)
    assert Record.decode(record.encode()) == record


@pytest.mark.parametrize("value", ["", "   ", "x" * 256, "ключ".encode(), "tab\there"])
def test_an_invalid_key_is_400(client: TestClient, token: str, value: str | bytes) -> None:
    reply = client.post("/v1/customers", json={"name": "Acme"},
                        headers=[("Authorization", f"Bearer {token}"), ("Idempotency-Key", value)])
    body = assert_problem(reply, 400, "invalid_idempotency_key")
    assert body["errors"] == [{"field": "Idempotency-Key", "code": "invalid_idempotency_key",
                               "message": "Must be 1 to 255 printable ASCII characters."}]


def test_two_keys_in_one_request_are_400(client: TestClient, token: str) -> None:
    reply = client.post("/v1/customers", json={"name": "Acme"},
                        headers=[("Authorization", f"Bearer {token}"), ("Idempotency-Key", "a"),
                                 ("Idempotency-Key", "b")])
    assert_problem(reply, 400, "invalid_idempotency_key")


def test_a_5xx_releases_the_key(client: TestClient, signing_key: ECKey) -> None:
    tenant, subject = uuid.uuid4(), f"client:{uuid.uuid4()}"
    token = make_token(signing_key, tid=str(tenant), sub=subject, client_id="erp")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "order-1"}
    for _ in range(2):  # the second is not "in use" nor a replay: the first let go of the key
        reply = client.post("/v1/customers", json={"name": "Acme"}, headers=headers)
        assert_problem(reply, 503, "unavailable")
        assert "Idempotent-Replayed" not in reply.headers
    key = idempotency.record_key(principal(tenant, "erp", subject), "order-1")
    with pytest.raises(nats.js.errors.KeyNotFoundError):
        client.portal.call(store_of(client).kv.get, key)  # type: ignore[union-attr]


def test_a_running_first_request_holds_the_key(client: TestClient, signing_key: ECKey) -> None:
    tenant, subject = uuid.uuid4(), "client:erp"
    token = make_token(signing_key, tid=str(tenant), sub=subject, client_id="erp")
    key = idempotency.record_key(principal(tenant, "erp", subject), "k-1")
    body = b'{"name":"Acme"}'
    fingerprint = Fingerprint("POST", "/v1/customers", "", hashlib.sha256(body).hexdigest())
    claim = client.portal.call(store_of(client).claim, key, fingerprint)  # type: ignore[union-attr]
    assert isinstance(claim, Claimed)  # another replica's request, still running
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1", "Content-Type": "application/json"}
    busy = client.post("/v1/customers", content=body, headers=headers)
    assert_problem(busy, 409, "idempotency_key_in_use")
    assert busy.headers["Retry-After"] == "1"
    other = client.post("/v1/customers", content=b'{"name":"Other"}', headers=headers)
    mismatch = assert_problem(other, 422, "idempotency_key_mismatch")
    assert mismatch["errors"][0]["field"] == "Idempotency-Key"
    # It finishes: the same request now gets its response, marked as a replay.
    done = Record("done", fingerprint, status=201, headers=[("content-type", "application/json"),
                                                           ("location", "/v1/customers/c1")], body=b'{"id":"c1"}')
    client.portal.call(store_of(client).complete, key, claim, done)  # type: ignore[union-attr]
    replay = client.post("/v1/customers", content=body, headers=headers)
    assert replay.status_code == 201 and replay.json() == {"id": "c1"}
    assert replay.headers["Location"] == "/v1/customers/c1" and replay.headers["Idempotent-Replayed"] == "true"
    assert "RateLimit-Limit" in replay.headers


def test_a_dead_replicas_lock_expires(client: TestClient) -> None:
    store = store_of(client)
    short = IdempotencyStore(store.nc, store.kv, lock_seconds=1)  # the lock TTL is the record's own
    key = idempotency.record_key(principal(uuid.uuid4()), "crash")
    fingerprint = Fingerprint("POST", "/v1/customers", "", hashlib.sha256(b"{}").hexdigest())
    assert isinstance(client.portal.call(short.claim, key, fingerprint), Claimed)  # type: ignore[union-attr]
    held = client.portal.call(short.claim, key, fingerprint)  # type: ignore[union-attr]
    assert isinstance(held, Record) and held.state == "pending"
    # The replica holding it "dies" (never completes); after the TTL the key can be taken again.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        again = client.portal.call(short.claim, key, fingerprint)  # type: ignore[union-attr]
        if isinstance(again, Claimed):
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the pending record never expired")


def test_a_response_too_large_to_keep_is_409_on_replay(client: TestClient, signing_key: ECKey) -> None:
    tenant = uuid.uuid4()
    token = make_token(signing_key, tid=str(tenant), sub="client:erp", client_id="erp")
    key = idempotency.record_key(principal(tenant), "big")
    fingerprint = Fingerprint("POST", "/v1/orders:batch-upsert", "", hashlib.sha256(b"{}").hexdigest())
    store = store_of(client)
    claim = client.portal.call(store.claim, key, fingerprint)  # type: ignore[union-attr]
    assert isinstance(claim, Claimed)
    client.portal.call(store.complete, key, claim, Record("too_large", fingerprint, status=200))  # type: ignore[union-attr]
    reply = client.post("/v1/orders:batch-upsert", content=b"{}", headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": "big", "Content-Type": "application/json"})
    body = assert_problem(reply, 409, "idempotency_response_too_large")
    assert body["original_status"] == 200


def test_the_openapi_document_states_the_conventions(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = [(path, method, op) for path, item in schema["paths"].items() if path.startswith("/v1/")
                  for method, op in item.items() if method in ("get", "post", "put", "patch", "delete")]
    assert len(operations) > 50
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        if not op.get("security"):
            assert path == "/v1/signup", where
            continue
        assert op["responses"]["429"]["headers"]["Retry-After"], where
        for response in op["responses"].values():
            assert set(response["headers"]) >= {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}, where
        parameters = [p.get("$ref") for p in op.get("parameters", [])]
        if method == "post":
            assert parameters.count("#/components/parameters/IdempotencyKey") == 1, where
            assert "idempotency_key_in_use" in op["responses"]["409"]["description"], where
            assert "idempotency_key_mismatch" in op["responses"]["422"]["description"], where
            assert "invalid_idempotency_key" in op["responses"]["400"]["description"], where
        else:
            assert "#/components/parameters/IdempotencyKey" not in parameters, where
    assert schema["components"]["parameters"]["IdempotencyKey"]["in"] == "header"
