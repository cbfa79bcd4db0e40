"""Webhooks a company can rely on, through the public API (docs/webhooks.md): the delivery log with
attempts and filters, replaying one delivery and a time range (a job), disabling, deleting; every
new operation refuses another tenant (404), a token without `webhooks:manage` (403) and a bad
token (401). The platform's retry schedule is "1,1,2" (tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver

FAILING_FOREVER = 10**9


def _deliveries(http: httpx.Client, endpoint_id: str, **params: str) -> list[dict[str, Any]]:
    reply = http.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params=params)
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["items"]
    return items


def _customer(http: httpx.Client, name: str) -> str:
    reply = http.post("/v1/customers", json={"name": name, "email": f"{abs(hash(name))}@example.com"})
    assert reply.status_code == 201, reply.text
    customer_id: str = reply.json()["id"]
    return customer_id


def test_delivery_log_replays_disable_and_delete(tenant: TenantContext, other_tenant: TenantContext) -> None:
    receiver = Receiver(fail_first=FAILING_FOREVER)
    http, theirs = tenant.http(), other_tenant.http()
    try:
        created = http.post("/v1/webhook-endpoints", json={"url": receiver.url,
                                                          "event_types": ["crm.customer.created"]})
        assert created.status_code == 201, created.text
        endpoint, secret = created.json(), created.json()["secret"]
        endpoint_id = endpoint["id"]
        assert (endpoint["disabled_reason"], endpoint["failing_since"]) == (None, None)
        _customer(http, "重放测试一号有限公司")
        _customer(http, "重放测试二号有限公司")

        # Both fail 4 times (first attempt + 3 retries) and become dead letters.
        dead = wait_for(lambda: (d := _deliveries(http, endpoint_id, status="dead")) and len(d) == 2 and d,
                        timeout=60)
        for delivery in dead:
            assert (delivery["attempts"], delivery["last_status_code"], delivery["next_attempt_at"]) == (4, 503, None)
            log = delivery["attempt_log"]
            assert [(a["number"], a["status_code"], a["error"], a["trigger"]) for a in log] == [
                (n, 503, "HTTP 503", "event") for n in (1, 2, 3, 4)]
            assert all(a["url"] == receiver.url and a["duration_ms"] >= 0 and a["attempted_at"] for a in log)
            assert log[0]["request_headers"]["webhook-id"] == delivery["event_id"]
            assert "webhook-signature" not in log[0]["request_headers"]
            assert delivery["request_body_excerpt"].startswith('{"specversion":"1.0"')
            assert delivery["request_body_bytes"] >= len(delivery["request_body_excerpt"].encode())
        gotten = http.get(f"/v1/webhook-deliveries/{dead[0]['id']}")
        assert gotten.status_code == 200 and gotten.json() == dead[0]
        endpoint_now = http.get(f"/v1/webhook-endpoints/{endpoint_id}").json()
        assert endpoint_now["enabled"] and endpoint_now["failing_since"]  # failing, not for 5 days yet
        long_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        assert _deliveries(http, endpoint_id, created_before=long_ago) == []
        assert len(_deliveries(http, endpoint_id, created_after=long_ago)) == 2
        assert _deliveries(http, endpoint_id, status="succeeded") == []
        paged = http.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params={"page_size": 1}).json()
        assert len(paged["items"]) == 1 and paged["next_page_token"]

        # The receiver is fixed: one delivery replayed by hand, with its webhook-id, verifiable.
        receiver.fail_first = receiver.attempts
        first, second = sorted(dead, key=lambda d: d["created_at"])
        replayed = http.post(f"/v1/webhook-deliveries/{first['id']}:replay")
        assert replayed.status_code == 202, replayed.text
        assert (replayed.json()["status"], replayed.json()["replays"]) == ("pending", 1)
        [sent] = wait_for(lambda: [d for d in receiver.deliveries if d.headers["webhook-id"] == first["event_id"]],
                          timeout=30)
        assert Webhook(secret).verify(sent.body, sent.headers)["id"] == first["event_id"]
        done = wait_for(lambda: (d := http.get(f"/v1/webhook-deliveries/{first['id']}").json())["status"]
                        == "succeeded" and d, timeout=30)
        assert done["attempt_log"][-1]["trigger"] == "replay" and done["attempt_log"][-1]["status_code"] == 204

        # A time range of dead letters, as a job followed at its Location.
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        job = http.post(f"/v1/webhook-endpoints/{endpoint_id}:replay", json={"since": since, "statuses": ["dead"]})
        assert job.status_code == 202, job.text
        location = job.headers["Location"]
        assert location == f"/v1/webhook-replays/{job.json()['id']}"
        finished = wait_for(lambda: (r := http.get(location).json())["status"] == "succeeded" and r, timeout=30)
        assert (finished["deliveries_total"], finished["deliveries_replayed"], finished["statuses"]) == (1, 1, ["dead"])
        wait_for(lambda: [d for d in receiver.deliveries if d.headers["webhook-id"] == second["event_id"]],
                 timeout=30)
        listed = http.get(f"/v1/webhook-endpoints/{endpoint_id}/replays").json()["items"]
        assert [r["id"] for r in listed] == [finished["id"]]

        # Bad input names the field; nothing is started.
        for body, field in (({}, "since"), ({"since": since, "statuses": ["failed"]}, "statuses[0]"),
                            ({"since": since, "until": long_ago}, "until"), ({"since": "yesterday"}, "since")):
            bad = http.post(f"/v1/webhook-endpoints/{endpoint_id}:replay", json=body)
            assert bad.status_code == 400, (body, bad.text)
            assert field in [e["field"] for e in bad.json()["errors"]], (body, bad.json())
        bad_status = http.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params={"status": "lost"})
        assert bad_status.status_code == 400 and bad_status.json()["errors"][0]["field"] == "status"

        # Disabled: no replays until it is enabled again.
        assert http.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"enabled": False}).json()[
            "disabled_reason"] == "manual"
        refused = http.post(f"/v1/webhook-deliveries/{first['id']}:replay")
        assert (refused.status_code, refused.json()["code"]) == (409, "endpoint_disabled")
        refused = http.post(f"/v1/webhook-endpoints/{endpoint_id}:replay", json={"since": since})
        assert (refused.status_code, refused.json()["code"]) == (409, "endpoint_disabled")
        enabled = http.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"enabled": True}).json()
        assert (enabled["enabled"], enabled["disabled_reason"], enabled["disabled_at"]) == (True, None, None)

        # Another tenant, a token without the scope, a forged token.
        delivery_paths = [("get", f"/v1/webhook-deliveries/{first['id']}", None),
                          ("post", f"/v1/webhook-deliveries/{first['id']}:replay", None),
                          ("get", location, None), ("get", f"/v1/webhook-endpoints/{endpoint_id}/replays", None),
                          ("post", f"/v1/webhook-endpoints/{endpoint_id}:replay", {"since": since}),
                          ("get", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", None),
                          ("delete", f"/v1/webhook-endpoints/{endpoint_id}", None)]
        no_scope = tenant.http(["customers:read"])
        forged = httpx.Client(base_url=tenant.api.base_url, headers={"Authorization": "Bearer not.a.token"})
        for method, path, body in delivery_paths:
            kwargs: dict[str, Any] = {"json": body} if body is not None else {}
            assert theirs.request(method, path, **kwargs).status_code == 404, (method, path)
            assert no_scope.request(method, path, **kwargs).status_code == 403, (method, path)
            assert forged.request(method, path, **kwargs).status_code == 401, (method, path)
        no_scope.close()
        forged.close()

        # Delete: what still waits is cancelled, then the endpoint and its deliveries are gone.
        receiver.fail_first = FAILING_FOREVER
        _customer(http, "删除前的客户有限公司")
        wait_for(lambda: _deliveries(http, endpoint_id, status="failed"), timeout=30)
        deleted = http.delete(f"/v1/webhook-endpoints/{endpoint_id}")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {"id": endpoint_id, "deliveries_cancelled": 1}
        for path in (f"/v1/webhook-endpoints/{endpoint_id}", f"/v1/webhook-endpoints/{endpoint_id}/deliveries",
                     f"/v1/webhook-deliveries/{first['id']}", location):
            assert http.get(path).status_code == 404, path
        assert http.delete(f"/v1/webhook-endpoints/{endpoint_id}").status_code == 404
        assert endpoint_id not in [e["id"] for e in http.get("/v1/webhook-endpoints").json()["items"]]
    finally:
        receiver.close()
        http.close()
        theirs.close()
