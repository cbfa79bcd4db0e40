"""With NATS down, writes still succeed; when it is back, every event reaches every consumer
exactly once (the outbox waits, durable consumers catch up, inboxes drop redeliveries)."""

from __future__ import annotations

import time

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver

CUSTOMERS = 5


def test_events_survive_a_nats_outage_and_arrive_once(platform: Platform, tenant: TenantContext) -> None:
    receiver = Receiver()
    http = tenant.http()
    try:
        assert (
            http.post(
                "/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["crm.customer.created"]}
            ).status_code
            == 201
        )
        tag_id = http.post("/v1/tags", json={"name": "制造"}).json()["id"]
        assert (
            http.post(
                "/v1/tag-rules", json={"tag_id": tag_id, "field": "industry", "operator": "equals", "value": "制造业"}
            ).status_code
            == 201
        )
        assert (
            http.post("/v1/cadence-rules", json={"tag_id": tag_id, "due_in_days": 1, "title": "回访"}).status_code
            == 201
        )

        platform.nats.stop()
        try:
            ids = []
            for index in range(CUSTOMERS):
                reply = http.post(
                    "/v1/customers",
                    json={"name": f"苏州精工制造{index}有限公司", "industry": "制造业", "mobile": f"1580000100{index}"},
                )
                assert reply.status_code == 201, reply.text
                ids.append(reply.json()["id"])
            time.sleep(1)
            assert receiver.of_type("crm.customer.created") == []  # nothing could have been published
        finally:
            platform.nats.start()

        # webhooks consumer: one delivery per event, each with its own id
        deliveries = wait_for(
            lambda: (d := receiver.of_type("crm.customer.created")) and len(d) >= CUSTOMERS and d, timeout=60
        )
        # tagging consumer -> followups consumer: one task per customer
        tasks = wait_for(
            lambda: (
                (
                    items := [
                        t
                        for i in ids
                        for t in http.get("/v1/followup-tasks", params={"customer_id": i}).json()["items"]
                    ]
                )
                and len(items) >= CUSTOMERS
                and items
            ),
            timeout=60,
        )
        # reporting consumer: counted once each
        wait_for(
            lambda: (
                {
                    r["industry"]: r["customers"] for r in http.get("/v1/reports/customers-by-industry").json()["rows"]
                }.get("制造业")
                == CUSTOMERS
            ),
            timeout=60,
        )

        time.sleep(3)  # anything duplicated would have arrived by now
        deliveries = receiver.of_type("crm.customer.created")
        assert sorted(d.event["data"]["customer"]["id"] for d in deliveries) == sorted(ids)
        assert len({d.headers["webhook-id"] for d in deliveries}) == CUSTOMERS
        tasks = [t for i in ids for t in http.get("/v1/followup-tasks", params={"customer_id": i}).json()["items"]]
        assert len(tasks) == CUSTOMERS
        rows = http.get("/v1/reports/customers-by-industry").json()["rows"]
        assert {r["industry"]: r["customers"] for r in rows} == {"制造业": CUSTOMERS}
        for customer_id in ids:
            assert len(http.get(f"/v1/customers/{customer_id}/tags").json()["items"]) == 1
    finally:
        receiver.close()
        http.close()


def test_failing_receiver_is_retried_until_it_succeeds(tenant: TenantContext) -> None:
    receiver = Receiver(fail_first=2)
    http = tenant.http()
    try:
        endpoint = http.post(
            "/v1/webhook-endpoints", json={"url": receiver.url, "event_types": ["crm.customer.created"]}
        ).json()
        assert http.post("/v1/customers", json={"name": "Retry Co.", "email": "r@retry.example.com"}).status_code == 201
        wait_for(lambda: receiver.of_type("crm.customer.created"), timeout=60)
        assert receiver.attempts == 3
        deliveries = wait_for(
            lambda: [
                d
                for d in http.get(
                    f"/v1/webhook-endpoints/{endpoint['endpoint']['id'] if 'endpoint' in endpoint else endpoint['id']}"
                    "/deliveries"
                ).json()["items"]
                if d["status"] == "succeeded"
            ]
        )
        assert deliveries[0]["attempts"] == 3
    finally:
        receiver.close()
        http.close()
