"""Idempotency-Key on POST /v1/... against the real services and NATS: a replay returns the first
response and changes nothing; a different request with the key is 422; concurrent requests run
once; keys belong to a tenant, a client and a user; failures release the key (also across gateway
replicas, which share the records)."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.in_process_gateway import in_process_gateway
from tests.gateway.gateway_testkit import NOWHERE, assert_problem

WRITE = ["customers:read", "customers:write"]


def new_customer() -> dict[str, str]:
    marker = secrets.token_hex(6)
    return {"name": f"Idem {marker} Co.", "email": f"buyer-{marker}@example.com"}


def customers_named(http: httpx.Client, name: str) -> list[dict[str, Any]]:
    reply = http.get("/v1/customers", params={"q": name, "page_size": 50})
    assert reply.status_code == 200, reply.text
    return [c for c in reply.json()["items"] if c["name"] == name]


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"order-{secrets.token_hex(8)}"}


def test_a_replay_returns_the_first_response_and_creates_nothing(tenant: TenantContext) -> None:
    http, body, headers = tenant.http(), new_customer(), key()
    first = http.post("/v1/customers", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = http.post("/v1/customers", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    for header in ("Location", "ETag", "Content-Type"):
        assert again.headers[header] == first.headers[header], header
    assert [c["id"] for c in customers_named(http, body["name"])] == [first.json()["id"]]


def test_a_custom_method_runs_once(tenant: TenantContext) -> None:
    http = tenant.http()
    created = http.post("/v1/customers", json=new_customer()).json()
    headers = {**key(), "If-Match": 'W/"1"'}
    change = {"status": "intent", "reason": "first call"}
    first = http.post(f"/v1/customers/{created['id']}:change-status", json=change, headers=headers)
    assert first.status_code == 200, first.text
    # A retry of the same call (say, after a timeout) does not meet the stale If-Match: it is a replay.
    again = http.post(f"/v1/customers/{created['id']}:change-status", json=change, headers=headers)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    history = http.get(f"/v1/customers/{created['id']}/status-history").json()["items"]
    assert [h["to_status"] for h in history].count("intent") == 1


def test_a_post_without_the_header_works_as_before(tenant: TenantContext) -> None:
    http, body = tenant.http(), new_customer()
    for _ in range(2):
        assert http.post("/v1/customers", json=body).status_code == 201
    assert len(customers_named(http, body["name"])) == 2


def test_the_key_with_a_different_request_is_422(tenant: TenantContext) -> None:
    http, body, headers = tenant.http(), new_customer(), key()
    first = http.post("/v1/customers", json=body, headers=headers)
    assert first.status_code == 201
    changed = {**body, "name": body["name"] + " Ltd."}
    problem = assert_problem(http.post("/v1/customers", json=changed, headers=headers), 422, "idempotency_key_mismatch")
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    # Another path, or the same body with a query, is another request too.
    assert_problem(http.post("/v1/tags", json={"name": "vip"}, headers=headers), 422, "idempotency_key_mismatch")
    assert_problem(http.post("/v1/customers?x=1", json=body, headers=headers), 422, "idempotency_key_mismatch")
    assert customers_named(http, changed["name"]) == []


def test_concurrent_requests_with_one_key_run_once(tenant: TenantContext) -> None:
    body, headers = new_customer(), key()
    clients = [tenant.http() for _ in range(6)]
    start = threading.Barrier(len(clients))
    replies: list[httpx.Response] = []

    def send(http: httpx.Client) -> None:
        start.wait()
        replies.append(http.post("/v1/customers", json=body, headers=headers))

    threads = [threading.Thread(target=send, args=(http,)) for http in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = [r for r in replies if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    assert len(ran) == 1, [(r.status_code, r.text) for r in replies]
    for reply in replies:
        if reply is ran[0]:
            continue
        if reply.status_code == 409:
            assert_problem(reply, 409, "idempotency_key_in_use")
            assert reply.headers["Retry-After"] == "1"
        else:
            assert reply.status_code == 201 and reply.headers["Idempotent-Replayed"] == "true"
            assert reply.json()["id"] == ran[0].json()["id"]
    assert len(customers_named(tenant.http(), body["name"])) == 1


def test_keys_belong_to_the_tenant_the_client_and_the_user(
    tenant: TenantContext, other_tenant: TenantContext
) -> None:
    body, headers = new_customer(), key()
    first = tenant.http().post("/v1/customers", json=body, headers=headers)
    assert first.status_code == 201
    callers = {
        "another tenant": other_tenant.http(),
        "another client of the tenant": tenant.http(WRITE),
        "a user of the tenant": httpx.Client(base_url=tenant.api.base_url, timeout=30,
                                             headers={"Authorization": f"Bearer {tenant.admin_token}"}),
    }
    ids = {first.json()["id"]}
    for who, http in callers.items():
        reply = http.post("/v1/customers", json=body, headers=headers)
        assert reply.status_code == 201, (who, reply.text)
        assert "Idempotent-Replayed" not in reply.headers, who  # never someone else's response
        ids.add(reply.json()["id"])
    assert len(ids) == 4
    assert len(customers_named(tenant.http(), body["name"])) == 3
    assert len(customers_named(other_tenant.http(), body["name"])) == 1


def test_rejected_requests_are_not_recorded(tenant: TenantContext) -> None:
    http, body, headers = tenant.http(), new_customer(), key()
    bad = http.post("/v1/customers", json={**body, "email": "not-an-email"}, headers=headers)
    assert bad.status_code == 400
    # Fixing the body and retrying with the same key runs the request (400 is not kept).
    fixed = http.post("/v1/customers", json=body, headers=headers)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    # A token without the scope is refused (403) and the key stays free for that caller.
    reader, reader_key = tenant.http(["customers:read"]), key()
    assert reader.post("/v1/customers", json=new_customer(), headers=reader_key).status_code == 403
    assert reader.post("/v1/customers", json=new_customer(), headers=reader_key).status_code == 403
    # An invalid key is a 400 and creates nothing.
    other = new_customer()
    assert_problem(http.post("/v1/customers", json=other, headers={"Idempotency-Key": "k" * 256}),
                   400, "invalid_idempotency_key")
    assert customers_named(http, other["name"]) == []


def test_a_5xx_releases_the_key_and_replicas_share_records(platform: Platform, tenant: TenantContext) -> None:
    body, headers = new_customer(), key()
    auth = {"Authorization": f"Bearer {tenant.token()}"}
    # A replica whose customers service is unreachable answers 503 and lets go of the key...
    with in_process_gateway(platform, customers_addr=NOWHERE) as broken:
        failed = broken.post("/v1/customers", json=body, headers={**auth, **headers})
        assert_problem(failed, 503, "unavailable")
    # ... so the retry, on another replica, runs.
    retry = tenant.http().post("/v1/customers", json=body, headers=headers)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    # And a third replica replays what the second recorded.
    with in_process_gateway(platform) as replica:
        replay = replica.post("/v1/customers", json=body, headers={**auth, **headers})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == retry.json()["id"]
    assert len(customers_named(tenant.http(), body["name"])) == 1
