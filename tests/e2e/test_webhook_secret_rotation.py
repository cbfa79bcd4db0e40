"""An endpoint's description; rotating an endpoint's signing secret and sending it a test event
(docs/webhooks.md): the test event reaches a real receiver signed with the current secret
(verified with `standardwebhooks`), a rotation makes the old secret fail and the new one verify, a
disabled endpoint refuses a test event (409), and both operations refuse another tenant (404), a
token without `webhooks:manage` (403), an expired and a forged token (401)."""

from __future__ import annotations

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.receiver import Receiver
from tests.e2e.test_login_security import forged_token

TEST_EVENT = "crm.webhook.test"


def test_test_event_and_secret_rotation(platform: Platform, tenant: TenantContext,
                                        other_tenant: TenantContext) -> None:
    receiver = Receiver()
    http = tenant.http()
    try:
        # Subscribed to something else: a test event still goes to it (and only to it).
        created = http.post("/v1/webhook-endpoints", json={"url": receiver.url, "description": " ERP 订单同步 ",
                                                          "event_types": ["crm.order.recorded"]})
        assert created.status_code == 201, created.text
        endpoint_id, first_secret = created.json()["id"], created.json()["secret"]
        assert created.json()["description"] == "ERP 订单同步"
        renamed = http.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"description": "ERP (prod)"})
        assert renamed.json()["description"] == "ERP (prod)" and renamed.json()["url"] == receiver.url
        too_long = http.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"description": "x" * 501})
        assert too_long.status_code == 400 and too_long.json()["errors"][0]["field"] == "description"
        control = http.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"description": "a\x00b"})
        assert (control.status_code, control.json()["errors"][0]["code"]) == (400, "invalid_characters")

        sent = http.post(f"/v1/webhook-endpoints/{endpoint_id}:send-test-event")
        assert sent.status_code == 202, sent.text
        delivery = sent.json()
        assert (delivery["event_type"], delivery["endpoint_id"]) == (TEST_EVENT, endpoint_id)
        assert sent.headers["location"] == f"/v1/webhook-deliveries/{delivery['id']}"
        [arrived] = wait_for(lambda: receiver.of_type(TEST_EVENT), timeout=30)
        event = Webhook(first_secret).verify(arrived.body, arrived.headers)
        assert event["data"] == {"endpoint_id": endpoint_id, "message": "This is a test event."}
        assert event["tenantid"] == tenant.tenant_id and arrived.headers["webhook-id"] == delivery["event_id"]
        logged = wait_for(lambda: (d := http.get(f"/v1/webhook-deliveries/{delivery['id']}").json())["status"]
                          == "succeeded" and d)
        assert logged["attempts"] == 1

        rotated = http.post(f"/v1/webhook-endpoints/{endpoint_id}:rotate-secret")
        assert rotated.status_code == 200, rotated.text
        assert rotated.headers["cache-control"] == "no-store"
        second_secret = rotated.json()["secret"]
        assert second_secret.startswith("whsec_") and second_secret != first_secret
        assert rotated.json()["id"] == endpoint_id and "secret" not in http.get(
            f"/v1/webhook-endpoints/{endpoint_id}").json()

        second = http.post(f"/v1/webhook-endpoints/{endpoint_id}:send-test-event").json()
        arrived_again = wait_for(lambda: [d for d in receiver.of_type(TEST_EVENT)
                                          if d.headers["webhook-id"] == second["event_id"]], timeout=30)[0]
        assert Webhook(second_secret).verify(arrived_again.body, arrived_again.headers)["id"] == second["event_id"]
        with pytest.raises(WebhookVerificationError):
            Webhook(first_secret).verify(arrived_again.body, arrived_again.headers)

        # A disabled endpoint sends nothing, not even a test.
        http.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"enabled": False})
        refused = http.post(f"/v1/webhook-endpoints/{endpoint_id}:send-test-event")
        assert (refused.status_code, refused.json()["code"]) == (409, "endpoint_disabled")

        paths = [f"/v1/webhook-endpoints/{endpoint_id}:send-test-event",
                 f"/v1/webhook-endpoints/{endpoint_id}:rotate-secret"]
        clients = {
            404: other_tenant.http(),
            403: tenant.http(["customers:read"]),
            401: httpx.Client(base_url=tenant.api.base_url,
                              headers={"Authorization": f"Bearer {forged_token(platform, tenant)}"}),
        }
        expired_token = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["webhooks:manage"])
        expired = httpx.Client(base_url=tenant.api.base_url,
                               headers={"Authorization": f"Bearer {expired_token}"})
        for path in paths:
            for status, client in clients.items():
                assert client.post(path).status_code == status, (path, status)
            assert expired.post(path).status_code == 401, path
        for client in (*clients.values(), expired):
            client.close()
        # The other tenant's attempts changed nothing: the second secret still verifies.
        assert len(receiver.of_type(TEST_EVENT)) == 2
    finally:
        http.close()
        receiver.close()
