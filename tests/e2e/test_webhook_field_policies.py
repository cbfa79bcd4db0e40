"""Field policies on webhooks end to end (docs/webhooks.md, "Field policies"): an endpoint created by a
user whose role hides `annual_revenue` never receives it; `hidden_fields` removes more; sensitive
fields stay masked; an admin's update refreshes the policies; bad input is a 400 naming the field."""

from __future__ import annotations

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_roles_teams import created


def _created_payload(receiver: Receiver, customer_id: str, event_type: str = "crm.customer.created") -> dict:
    found = wait_for(lambda: [d for d in receiver.of_type(event_type) if d.event["subject"] == customer_id],
                     timeout=30)
    customer: dict = found[-1].event["data"]["customer"]
    return customer


def test_endpoint_never_sends_more_than_its_creator_may_see(
    platform: Platform, tenant: TenantContext, other_tenant: TenantContext
) -> None:
    admin = admin_http(tenant)
    role = created(admin.post("/v1/roles", json={"name": "Integrations", "scopes": ["webhooks:manage",
                                                                                  "customers:read"]}))
    assert admin.put(f"/v1/roles/{role['id']}/field-policies", json={"field_policies": {
        "annual_revenue": "hidden", "credit_code": "masked"}}).status_code == 200
    email = f"integrator@{tenant.slug}.example.com"
    create_user(tenant, email, roles=[role["id"]])
    integrator = httpx.Client(base_url=platform.gateway_url, timeout=30,
                              headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    restricted, plain = Receiver(), Receiver()
    try:
        endpoint = integrator.post("/v1/webhook-endpoints", json={
            "url": restricted.url, "event_types": ["crm.customer.created", "crm.customer.updated"],
            "hidden_fields": ["email"],
        })
        assert endpoint.status_code == 201, endpoint.text
        hook = endpoint.json()
        assert hook["hidden_fields"] == ["email"]
        assert hook["field_policies"] == {"annual_revenue": "hidden", "credit_code": "masked", "email": "hidden"}
        assert hook["policies_set_by"]
        got = admin.get(f"/v1/webhook-endpoints/{hook['id']}")
        assert got.status_code == 200 and got.json()["field_policies"] == hook["field_policies"]
        assert created(admin.post("/v1/webhook-endpoints", json={"url": plain.url}))

        customer = created(admin.post("/v1/customers", json={
            "name": "深圳精密制造有限公司", "mobile": "13800138061", "email": "cfo@example.com",
            "annual_revenue": "9900000.00", "credit_code": "91350100M000100Y43", "resident_id": "11010519491231002X",
        }))
        sent = _created_payload(restricted, customer["id"])
        assert "annual_revenue" not in sent and "email" not in sent
        assert sent["credit_code"] == "****"
        assert sent["resident_id"] == "110***********002X"
        assert sent["mobile"] == "+8613800138061" and sent["name"] == "深圳精密制造有限公司"
        full = _created_payload(plain, customer["id"])
        assert full["annual_revenue"] == "9900000.00" and full["email"] == "cfo@example.com"
        assert full["resident_id"] == "110***********002X"  # masked for everyone

        # The admin takes the endpoint over: the admin's (unrestricted) policies, hidden_fields kept.
        patched = admin.patch(f"/v1/webhook-endpoints/{hook['id']}", json={"event_types": []})
        assert patched.status_code == 200, patched.text
        assert patched.json()["field_policies"] == {"email": "hidden"}
        assert patched.json()["event_types"] == []
        assert admin.patch(f"/v1/customers/{customer['id']}", json={"notes": "年度大客户"},
                           headers={"If-Match": 'W/"1"'}).status_code == 200
        after = _created_payload(restricted, customer["id"], "crm.customer.updated")
        assert after["annual_revenue"] == "9900000.00" and "email" not in after

        # Bad input: 400 naming the field, nothing changed.
        bad = admin.patch(f"/v1/webhook-endpoints/{hook['id']}", json={"hidden_fields": ["email", "salary"]})
        assert bad.status_code == 400, bad.text
        assert [(e["field"], e["code"]) for e in bad.json()["errors"]] == [("hidden_fields[1]", "invalid_field")]
        assert admin.get(f"/v1/webhook-endpoints/{hook['id']}").json()["hidden_fields"] == ["email"]
        bad_create = admin.post("/v1/webhook-endpoints", json={"url": plain.url, "hidden_fields": ["nope"]})
        assert bad_create.status_code == 400
        assert bad_create.json()["errors"][0]["field"] == "hidden_fields[0]"
        assert admin.patch(f"/v1/webhook-endpoints/{hook['id']}", json={"colour": "red"}).status_code == 400

        # Another tenant, a missing endpoint, a token without webhooks:manage.
        assert admin_http(other_tenant).get(f"/v1/webhook-endpoints/{hook['id']}").status_code == 404
        assert admin_http(other_tenant).patch(f"/v1/webhook-endpoints/{hook['id']}", json={}).status_code == 404
        no_scope = tenant.http(["customers:read"]).get(f"/v1/webhook-endpoints/{hook['id']}")
        assert no_scope.status_code == 403
    finally:
        restricted.close()
        plain.close()
