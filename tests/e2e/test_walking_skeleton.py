"""One real path through every service: token -> customer matching a rule -> tag applied ->
follow-up task -> industry report -> signed webhook verified by an independent library."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver


def test_customer_flows_through_every_service(tenant: TenantContext) -> None:
    receiver = Receiver()
    http = tenant.http()
    try:
        endpoint = http.post("/v1/webhook-endpoints", json={"url": receiver.url, "event_types": []})
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["secret"]
        assert secret.startswith("whsec_")

        tag = http.post("/v1/tags", json={"name": "IT 客户", "color": "#2563eb"})
        assert tag.status_code == 201, tag.text
        tag_id = tag.json()["id"]
        rule = http.post(
            "/v1/tag-rules", json={"tag_id": tag_id, "field": "industry", "operator": "equals", "value": "IT"}
        )
        assert rule.status_code == 201, rule.text
        cadence = http.post("/v1/cadence-rules", json={"tag_id": tag_id, "due_in_days": 3, "title": "首次电话回访"})
        assert cadence.status_code == 201, cadence.text

        created = http.post(
            "/v1/customers",
            json={"name": "北京云帆科技有限公司", "industry": "IT", "mobile": "13800138000", "region": "华北/北京"},
        )
        assert created.status_code == 201, created.text
        customer = created.json()
        assert created.headers["location"].endswith(f"/v1/customers/{customer['id']}")
        assert customer["mobile"] == "+8613800138000"
        other = http.post(
            "/v1/customers", json={"name": "上海零售有限公司", "industry": "零售", "email": "buyer@retail.example.cn"}
        )
        assert other.status_code == 201, other.text

        tags = wait_for(
            lambda: [
                t for t in http.get(f"/v1/customers/{customer['id']}/tags").json()["items"] if t["tag_id"] == tag_id
            ]
        )
        assert tags[0]["source"] == "rule"
        assert http.get(f"/v1/customers/{other.json()['id']}/tags").json()["items"] == []

        tasks = wait_for(lambda: http.get("/v1/followup-tasks", params={"customer_id": customer["id"]}).json()["items"])
        assert len(tasks) == 1
        assert tasks[0]["title"] == "首次电话回访" and tasks[0]["status"] == "open"
        due = datetime.fromisoformat(tasks[0]["due_at"].replace("Z", "+00:00"))
        assert abs(due - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)

        def industry_counts() -> dict[str, int] | None:
            rows = http.get("/v1/reports/customers-by-industry").json()["rows"]
            counts = {r["industry"]: r["customers"] for r in rows}
            return counts if counts == {"IT": 1, "零售": 1} else None

        wait_for(industry_counts)

        [delivery] = wait_for(
            lambda: [
                d
                for d in receiver.of_type("crm.customer.created")
                if d.event["data"]["customer"]["id"] == customer["id"]
            ]
        )
        verified = Webhook(secret).verify(
            delivery.body,
            {
                "webhook-id": delivery.headers["webhook-id"],
                "webhook-timestamp": delivery.headers["webhook-timestamp"],
                "webhook-signature": delivery.headers["webhook-signature"],
            },
        )
        assert verified["data"]["customer"]["name"] == "北京云帆科技有限公司"
        assert delivery.event["tenantid"] == tenant.tenant_id
        assert delivery.event["specversion"] == "1.0"
        wait_for(lambda: receiver.of_type("crm.tag.applied"))
        wait_for(lambda: receiver.of_type("crm.followup_task.created"))
    finally:
        receiver.close()
        http.close()


def test_update_needs_the_current_etag(tenant: TenantContext) -> None:
    http = tenant.http()
    created = http.post("/v1/customers", json={"name": "Contoso Ltd.", "email": "ops@contoso.example.com"})
    customer_id = created.json()["id"]
    etag = http.get(f"/v1/customers/{customer_id}").headers["etag"]
    updated = http.patch(f"/v1/customers/{customer_id}", json={"industry": "IT"}, headers={"If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.json()["industry"] == "IT" and updated.json()["version"] == 2
    assert updated.headers["etag"] != etag
    stale = http.patch(f"/v1/customers/{customer_id}", json={"industry": "金融"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert http.get(f"/v1/customers/{customer_id}").json()["industry"] == "IT"
    missing = http.patch(f"/v1/customers/{customer_id}", json={"industry": "金融"})
    assert missing.status_code == 428 or missing.status_code == 400


def test_list_pages_through_every_customer_once(tenant: TenantContext) -> None:
    http = tenant.http()
    for index in range(7):
        assert (
            http.post("/v1/customers", json={"name": f"客户{index}", "mobile": f"1390000000{index}"}).status_code == 201
        )
    seen: list[str] = []
    token = ""
    while True:
        params: dict[str, str | int] = {"page_size": 3}
        if token:
            params["page_token"] = token
        page = http.get("/v1/customers", params=params).json()
        seen += [c["id"] for c in page["items"]]
        token = page.get("next_page_token") or ""
        if not token:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    tampered = http.get("/v1/customers", params={"page_token": "x" + (token or "abc")})
    assert tampered.status_code == 400
