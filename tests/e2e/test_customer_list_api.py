"""The list's additions for the web app: a total (exact up to 10,000, then capped), the new sort
keys (status, industry, region) and their page tokens, the tags each customer carries, and `ids`
(the selected rows a bulk action works on) inside the caller's data scope and tenant."""

from __future__ import annotations

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_roles_teams import created

PEOPLE = (("Alpha", "won", "IT", "华北/北京"), ("Bravo", "intent", "制造业", "华东/上海"),
          ("Charlie", "potential", "IT", "华东/上海"), ("Delta", "lost", "零售", "华南/广州"),
          ("Echo", "won", "制造业", "华北/北京"))


def test_total_sort_keys_tags_and_selected_ids(platform: Platform, tenant: TenantContext,
                                               other_tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        made = {}
        for i, (name, status, industry, region) in enumerate(PEOPLE):
            row = created(admin.post("/v1/customers", json={"name": name, "mobile": f"1380013{i:04d}",
                                                            "industry": industry, "region": region}))
            if status != "potential":
                assert admin.post(f"/v1/customers/{row['id']}:change-status",
                                  json={"status": status, "reason": "test"}).status_code == 200
            made[name] = row["id"]
        vip = created(admin.post("/v1/tags", json={"name": "VIP", "color": "#dc2626"}))
        assert admin.post(f"/v1/customers/{made['Bravo']}/tags", json={"tag_id": vip["id"]}).status_code in (200, 201)

        listed = admin.get("/v1/customers", params={"include_total": "true", "page_size": 2})
        assert listed.status_code == 200, listed.text
        assert listed.json()["total_size"] == 5 and listed.json()["total_size_capped"] is False
        assert "total_size" not in admin.get("/v1/customers").json()  # only when asked for
        assert admin.get("/v1/customers", params={"include_total": "true", "status": "won"}).json()["total_size"] == 2

        # Sorting by status walks the pages in (status, id) order.
        names, token = [], ""
        while True:
            page = admin.get("/v1/customers", params={"order_by": "status asc", "page_size": 2,
                                                      **({"page_token": token} if token else {})}).json()
            names += [(c["status"], c["name"]) for c in page["items"]]
            token = page.get("next_page_token", "")
            if not token:
                break
        assert [s for s, _ in names] == sorted(s for s, _ in names) and len(names) == 5
        regions = [c["region"] for c in admin.get("/v1/customers", params={"order_by": "region desc"}).json()["items"]]
        assert regions == sorted(regions, reverse=True)
        bad = admin.get("/v1/customers", params={"order_by": "mobile asc"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "order_by"

        # The tags each customer carries (the projection follows tagging's events).
        def bravo_tags() -> list[str]:
            items = admin.get("/v1/customers", params={"q": "Bravo"}).json()["items"]
            return list(items[0]["tag_ids"]) if items else []
        from tests.conftest import wait_for
        assert wait_for(lambda: bravo_tags() == [vip["id"]])
        assert "tag_ids" not in admin.get(f"/v1/customers/{made['Bravo']}").json()  # lists only

        # Selected rows: exactly those; a malformed id is a 400 on `ids`.
        picked = admin.get("/v1/customers", params={"ids": f"{made['Alpha']},{made['Delta']}"})
        assert picked.status_code == 200 and {c["name"] for c in picked.json()["items"]} == {"Alpha", "Delta"}
        malformed = admin.get("/v1/customers", params={"ids": "nope"})
        assert malformed.status_code == 400 and malformed.json()["errors"][0]["field"] == "ids"

    with other_tenant.http() as stranger:  # another tenant's ids match nothing there
        assert stranger.get("/v1/customers", params={"include_total": "true"}).json()["total_size"] == 0
        assert stranger.get("/v1/customers", params={"ids": made["Alpha"]}).json()["items"] == []


def test_hidden_sort_key_refused_and_ids_stay_in_scope(platform: Platform, tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        role = created(admin.post("/v1/roles", json={"name": "No industry", "scopes": ["customers:read"],
                                                     "data_scope": "own"}))
        assert admin.put(f"/v1/roles/{role['id']}/field-policies",
                         json={"field_policies": {"industry": "hidden"}}).status_code == 200
    email = f"noind@{tenant.slug}.example.com"
    create_user(tenant, email, roles=[role["id"]])
    with admin_http(tenant) as admin:
        theirs = created(admin.post("/v1/customers", json={"name": "Not theirs", "mobile": "13800139999"}))
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"}) as limited:
        refused = limited.get("/v1/customers", params={"order_by": "industry asc"})
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "field_hidden"
        assert limited.get("/v1/customers", params={"order_by": "status asc"}).status_code == 200
        assert limited.get("/v1/customers").status_code == 200
        # Selected ids outside the caller's data scope match nothing (not a 404, not a leak).
        outside = limited.get("/v1/customers", params={"ids": theirs["id"], "include_total": "true"}).json()
        assert outside["items"] == [] and outside["total_size"] == 0
    assert httpx.get(f"{platform.gateway_url}/v1/customers", params={"include_total": "true"}).status_code == 401
