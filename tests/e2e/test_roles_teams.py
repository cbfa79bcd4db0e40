"""Roles, permissions, teams and users' access (issue 3; docs/access.md): custom role CRUD, the team
tree, a user's roles and team changed with If-Match, and the token a user then gets through the code
flow carrying exactly their roles' scopes plus `ds`, `teams` and `fp`."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.test_api_clients import CHROMIUM, _shot, _sign_in
from tests.e2e.test_login_security import NEW_PASSWORD, Browser, admin_http, forged_token

ROLE_SCOPES = ["customers:read", "followups:read", "tags:read"]


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return value


def created(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 201, reply.text
    assert reply.headers["location"].endswith(reply.json()["id"])
    return dict(reply.json())


def make_role(http: httpx.Client, **body: Any) -> dict[str, Any]:
    return created(http.post("/v1/roles", json={"name": "Regional sales", "scopes": ROLE_SCOPES,
                                                "data_scope": "team", **body}))


def test_permission_catalogue_and_builtin_roles(tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        en = http.get("/v1/permissions").json()["items"]
        zh = http.get("/v1/permissions", headers={"Accept-Language": "zh-CN"}).json()["items"]
        scopes = [p["scope"] for p in en]
        assert "roles:manage" in scopes and "users:manage" in scopes and "customers:read" in scopes
        assert not any(s.startswith("system:") for s in scopes)
        assert [p["scope"] for p in zh] == scopes and en[0]["description"] != zh[0]["description"]
        roles = {r["id"]: r for r in http.get("/v1/roles").json()["items"]}
        assert {"tenant_admin", "sales_manager", "sales_rep", "customer_service"} <= set(roles)
        assert roles["sales_rep"]["builtin"] and roles["sales_rep"]["data_scope"] == "own"
        assert roles["sales_manager"]["data_scope"] == "team"
        assert roles["customer_service"]["field_policies"]["annual_revenue"] == "hidden"
        assert "roles:manage" in roles["tenant_admin"]["scopes"]
        # Built-in roles are read-only.
        for reply in (http.patch("/v1/roles/sales_rep", json={"name": "x"}),
                      http.delete("/v1/roles/tenant_admin"),
                      http.put("/v1/roles/customer_service/field-policies", json={"field_policies": {}})):
            assert reply.status_code == 409, reply.text
            assert reply.json()["code"] == "builtin_role_readonly"


def test_custom_role_crud(tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        role = make_role(http, description="East and west")
        assert role["builtin"] is False and role["scopes"] == ROLE_SCOPES and role["data_scope"] == "team"
        got = http.get(f"/v1/roles/{role['id']}")
        assert got.status_code == 200 and got.headers["etag"] == 'W/"1"'
        dup = http.post("/v1/roles", json={"name": "regional SALES", "scopes": ["tags:read"]})
        assert dup.status_code == 409 and dup.json()["code"] == "role_name_taken"

        patched = http.patch(f"/v1/roles/{role['id']}", json={"scopes": ["customers:read"], "data_scope": "own"},
                             headers={"If-Match": 'W/"1"'})
        assert patched.status_code == 200, patched.text
        assert patched.json()["scopes"] == ["customers:read"] and patched.json()["version"] == 2
        stale = http.patch(f"/v1/roles/{role['id']}", json={"name": "Renamed"}, headers={"If-Match": 'W/"1"'})
        assert stale.status_code == 412 and stale.headers["etag"] == 'W/"2"'

        policies = http.put(f"/v1/roles/{role['id']}/field-policies",
                            json={"field_policies": {"annual_revenue": "hidden", "mobile": "masked",
                                                     "cf.tier": "read_only", "name": "read_write"}})
        assert policies.status_code == 200, policies.text
        assert policies.json()["field_policies"] == {"annual_revenue": "hidden", "mobile": "masked",
                                                     "cf.tier": "read_only"}
        assert http.get(f"/v1/roles/{role['id']}/field-policies").json()["field_policies"] \
            == policies.json()["field_policies"]
        assert role["id"] in {r["id"] for r in http.get("/v1/roles").json()["items"]}

        deleted = http.delete(f"/v1/roles/{role['id']}")
        assert deleted.status_code == 200 and deleted.json()["id"] == role["id"]
        assert http.get(f"/v1/roles/{role['id']}").status_code == 404


def test_team_tree(tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        admin_id = http.get("/v1/users").json()["items"][0]["id"]
        sales = created(http.post("/v1/teams", json={"name": "Sales", "manager_id": admin_id}))
        east = created(http.post("/v1/teams", json={"name": "East", "parent_id": sales["id"]}))
        assert east["parent_id"] == sales["id"] and sales["manager_id"] == admin_id
        # A team cannot move below itself or its descendants.
        cycle = http.patch(f"/v1/teams/{sales['id']}", json={"parent_id": east["id"]})
        assert cycle.status_code == 400 and [e["code"] for e in cycle.json()["errors"]] == ["team_cycle"]
        renamed = http.patch(f"/v1/teams/{east['id']}", json={"name": "East China", "manager_id": None},
                             headers={"If-Match": 'W/"1"'})
        assert renamed.status_code == 200 and renamed.json()["name"] == "East China"
        assert {t["id"] for t in http.get("/v1/teams").json()["items"]} == {sales["id"], east["id"]}
        busy = http.delete(f"/v1/teams/{sales['id']}")
        assert busy.status_code == 409 and busy.json()["code"] == "team_not_empty"
        assert http.delete(f"/v1/teams/{east['id']}").status_code == 200
        assert http.get(f"/v1/teams/{east['id']}").status_code == 404


def test_user_with_custom_role_gets_exactly_its_access_in_the_token(
    platform: Platform, tenant: TenantContext
) -> None:
    with admin_http(tenant) as http:
        role = make_role(http)
        assert http.put(f"/v1/roles/{role['id']}/field-policies",
                        json={"field_policies": {"annual_revenue": "hidden", "mobile": "masked"}}).status_code == 200
        sales = created(http.post("/v1/teams", json={"name": "Sales"}))
        east = created(http.post("/v1/teams", json={"name": "East", "parent_id": sales["id"]}))
        pudong = created(http.post("/v1/teams", json={"name": "Pudong", "parent_id": east["id"]}))
        created(http.post("/v1/teams", json={"name": "West", "parent_id": sales["id"]}))
        email = f"lead@{tenant.slug}.example.com"
        user = created(http.post("/v1/users", json={
            "email": email, "password": "Temporary-pass-42", "display_name": "Lead", "roles": ["sales_rep"],
            "team_id": east["id"],
        }))
        assert user["team_id"] == east["id"] and user["roles"] == ["sales_rep"]

        # Without If-Match: 428; with it the roles change.
        assert http.patch(f"/v1/users/{user['id']}", json={"roles": [role["id"]]}).status_code == 428
        etag = http.get(f"/v1/users/{user['id']}").headers["etag"]
        changed = http.patch(f"/v1/users/{user['id']}", json={"roles": [role["id"]], "display_name": "Team lead"},
                             headers={"If-Match": etag})
        assert changed.status_code == 200, changed.text
        assert changed.json()["roles"] == [role["id"]] and changed.json()["display_name"] == "Team lead"
        stale = http.patch(f"/v1/users/{user['id']}", json={"team_id": None}, headers={"If-Match": etag})
        assert stale.status_code == 412
        # The role cannot go while the user holds it.
        in_use = http.delete(f"/v1/roles/{role['id']}")
        assert in_use.status_code == 409 and in_use.json()["code"] == "role_in_use"

    first = Browser(platform.gateway_url)  # first sign-in: the temporary password is replaced
    step = first.sign_in(tenant.slug, email, "Temporary-pass-42")
    first.token(first.submit(step, new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD))
    token = tenant.api.login_code_flow(tenant.slug, email, NEW_PASSWORD)
    assert sorted(token["scope"].split()) == ROLE_SCOPES
    claims = claims_of(token["access_token"])
    assert sorted(claims["scope"].split()) == ROLE_SCOPES
    assert claims["roles"] == [role["id"]]
    assert claims["ds"] == "team"
    assert set(claims["teams"]) == {east["id"], pudong["id"]}  # own team and below, not the parent or siblings
    assert claims["fp"] == {"annual_revenue": "hidden", "mobile": "masked"}
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {token['access_token']}"}) as lead:
        assert lead.get("/v1/customers").status_code == 200
        assert lead.get("/v1/users").status_code == 403  # the role does not grant users:manage

    # A second role widens: all data, and the field the other role leaves unnamed becomes read_write.
    with admin_http(tenant) as http:
        etag = http.get(f"/v1/users/{user['id']}").headers["etag"]
        assert http.patch(f"/v1/users/{user['id']}", json={"roles": [role["id"], "customer_service"]},
                          headers={"If-Match": etag}).status_code == 200
    wider = claims_of(tenant.api.login_code_flow(tenant.slug, email, NEW_PASSWORD)["access_token"])
    assert wider["ds"] == "all" and wider["teams"] == []
    assert wider["fp"] == {"annual_revenue": "hidden"}  # hidden in both roles; mobile is not named by CS

    # The admin's own token: everything, all data, no field restrictions.
    admin = claims_of(tenant.admin_token)
    assert admin["ds"] == "all" and admin["fp"] == {} and "roles:manage" in admin["scope"].split()


def test_cannot_grant_beyond_own_permissions(tenant: TenantContext) -> None:
    """A user manager without roles:manage (e.g. an HR role) cannot make anyone tenant admin."""
    with admin_http(tenant) as http:
        hr = make_role(http, name="HR", scopes=["users:manage"], data_scope="own")
    limited = tenant.token(["users:manage"])
    with httpx.Client(base_url=tenant.api.base_url, timeout=30, headers={"Authorization": f"Bearer {limited}"}) as c:
        reply = c.post("/v1/users", json={"email": f"x@{tenant.slug}.example.com", "password": "Temporary-pass-42",
                                          "display_name": "X", "roles": ["tenant_admin"]})
        assert reply.status_code == 403 and reply.json()["code"] == "grant_exceeds_own"
        assert "roles:manage" in reply.json()["missing_scopes"]
        ok = c.post("/v1/users", json={"email": f"y@{tenant.slug}.example.com", "password": "Temporary-pass-42",
                                       "display_name": "Y", "roles": [hr["id"]]})
        assert ok.status_code == 201, ok.text


def test_bad_input_is_400_with_fields(tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        reply = http.post("/v1/roles", json={"name": "", "scopes": ["customers:fly"], "data_scope": "own"})
        assert reply.status_code == 400
        assert {(e["field"], e["code"]) for e in reply.json()["errors"]} == {
            ("name", "required"), ("scopes", "invalid_scope")}
        reply = http.post("/v1/roles", json={"name": "x", "scopes": [], "data_scope": "galaxy"})
        assert reply.status_code == 400 and "data_scope" in {e["field"] for e in reply.json()["errors"]}
        reply = http.post("/v1/roles", json={"name": "x", "scopes": ["tags:read"], "colour": "red"})
        assert reply.status_code == 400 and "colour" in {e["field"] for e in reply.json()["errors"]}
        role = make_role(http)
        bad = http.put(f"/v1/roles/{role['id']}/field-policies",
                       json={"field_policies": {"Not A Field": "hidden", "mobile": "visible"}})
        assert bad.status_code == 400
        assert {e["field"] for e in bad.json()["errors"]} >= {"field_policies.mobile"}
        bad = http.put(f"/v1/roles/{role['id']}/field-policies", json={"field_policies": {"Not A Field": "hidden"}})
        assert bad.status_code == 400 and [e["code"] for e in bad.json()["errors"]] == ["invalid_field"]
        team = http.post("/v1/teams", json={"name": " ", "parent_id": "0190a0c2-0000-7000-8000-000000000000"})
        assert team.status_code == 400
        assert {e["field"] for e in team.json()["errors"]} == {"name", "parent_id"}
        user_id = http.get("/v1/users").json()["items"][0]["id"]
        etag = http.get(f"/v1/users/{user_id}").headers["etag"]
        bad_user = http.patch(f"/v1/users/{user_id}", json={"roles": ["wizard"], "team_id": "nope"},
                              headers={"If-Match": etag})
        assert bad_user.status_code == 400 and "roles" in {e["field"] for e in bad_user.json()["errors"]}
        no_team = http.patch(f"/v1/users/{user_id}", json={"team_id": "0190a0c2-0000-7000-8000-000000000000"},
                             headers={"If-Match": etag})
        assert no_team.status_code == 400 and [e["field"] for e in no_team.json()["errors"]] == ["team_id"]
        assert http.patch(f"/v1/users/{user_id}", json={"roles": []},
                          headers={"If-Match": etag}).status_code == 400


def test_other_tenant_gets_404(tenant: TenantContext, other_tenant: TenantContext) -> None:
    with admin_http(tenant) as http:
        role = make_role(http)
        team = created(http.post("/v1/teams", json={"name": "Sales"}))
        user_id = http.get("/v1/users").json()["items"][0]["id"]
    with admin_http(other_tenant) as foreign:
        for reply in (
            foreign.get(f"/v1/roles/{role['id']}"),
            foreign.patch(f"/v1/roles/{role['id']}", json={"name": "mine"}),
            foreign.delete(f"/v1/roles/{role['id']}"),
            foreign.get(f"/v1/roles/{role['id']}/field-policies"),
            foreign.put(f"/v1/roles/{role['id']}/field-policies", json={"field_policies": {}}),
            foreign.get(f"/v1/teams/{team['id']}"),
            foreign.patch(f"/v1/teams/{team['id']}", json={"name": "mine"}),
            foreign.delete(f"/v1/teams/{team['id']}"),
            foreign.get(f"/v1/users/{user_id}"),
            foreign.patch(f"/v1/users/{user_id}", json={"display_name": "mine"}, headers={"If-Match": 'W/"1"'}),
        ):
            assert reply.status_code == 404, reply.text
            assert reply.headers["content-type"].startswith("application/problem+json")
        # Another tenant's role or team cannot be assigned either.
        own_user = foreign.get("/v1/users").json()["items"][0]["id"]
        etag = foreign.get(f"/v1/users/{own_user}").headers["etag"]
        reply = foreign.patch(f"/v1/users/{own_user}", json={"roles": [role["id"]], "team_id": team["id"]},
                              headers={"If-Match": etag})
        assert reply.status_code == 400


ENDPOINTS = [
    ("GET", "/v1/permissions", None), ("GET", "/v1/roles", None),
    ("POST", "/v1/roles", {"name": "x", "scopes": ["tags:read"]}),
    ("GET", "/v1/roles/sales_rep", None), ("PATCH", "/v1/roles/{role}", {"name": "y"}),
    ("DELETE", "/v1/roles/{role}", None), ("GET", "/v1/roles/{role}/field-policies", None),
    ("PUT", "/v1/roles/{role}/field-policies", {"field_policies": {}}),
    ("GET", "/v1/teams", None), ("POST", "/v1/teams", {"name": "t"}), ("GET", "/v1/teams/{team}", None),
    ("PATCH", "/v1/teams/{team}", {"name": "u"}), ("DELETE", "/v1/teams/{team}", None),
    ("GET", "/v1/users/{user}", None), ("PATCH", "/v1/users/{user}", {"display_name": "z"}),
]


def _resolve(path: str, ids: dict[str, str]) -> str:
    return path.format(**ids)


@pytest.fixture
def ids(tenant: TenantContext) -> dict[str, str]:
    with admin_http(tenant) as http:
        return {"role": make_role(http)["id"], "team": created(http.post("/v1/teams", json={"name": "S"}))["id"],
                "user": http.get("/v1/users").json()["items"][0]["id"]}


def test_missing_scope_is_403(tenant: TenantContext, ids: dict[str, str]) -> None:
    with tenant.http(["customers:read"]) as http:
        for method, path, body in ENDPOINTS:
            reply = http.request(method, _resolve(path, ids), json=body, headers={"If-Match": 'W/"1"'})
            assert reply.status_code == 403, (method, path, reply.text)
            assert reply.json()["code"] == "permission_denied"
    # users:manage may read roles (to assign them) but not change them.
    with tenant.http(["users:manage"]) as http:
        assert http.get("/v1/roles").status_code == 200
        assert http.get("/v1/permissions").status_code == 200
        assert http.post("/v1/roles", json={"name": "x", "scopes": ["tags:read"]}).status_code == 403
    with tenant.http(["roles:manage"]) as http:
        assert http.get("/v1/teams").status_code == 403


def test_no_forged_or_expired_token_is_401(platform: Platform, tenant: TenantContext, ids: dict[str, str]) -> None:
    expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["roles:manage", "users:manage"])
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=headers) as http:
            for method, path, body in ENDPOINTS:
                reply = http.request(method, _resolve(path, ids), json=body, headers={"If-Match": 'W/"1"'})
                assert reply.status_code == 401, (method, path, reply.text)


# -- the web pages (/app/users, /app/teams, /app/roles) -------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium package is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def test_admin_pages_teams_roles_users(chromium: Any, platform: Platform, tenant: TenantContext) -> None:
    from playwright.sync_api import expect

    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        _sign_in(page, platform, tenant, "/app/teams")
        page.wait_for_url("**/app/teams")
        expect(page.locator("h1")).to_have_text("Teams")
        page.fill("#team-name", "Sales")
        page.select_option("#team-manager", label="Admin")
        page.locator("form[action='/app/teams'] button[type=submit]").click()
        expect(page.locator("[role=status]")).to_contain_text("Sales")
        page.fill("#team-name", "East China")
        page.select_option("#team-parent", label="Sales")
        page.locator("form[action='/app/teams'] button[type=submit]").click()
        expect(page.locator("table")).to_contain_text("East China")
        _shot(page, "access-teams")

        page.goto(f"{platform.gateway_url}/app/roles")
        expect(page.locator("table")).to_contain_text("Sales rep")
        page.locator("form[action='/app/roles'] button[type=submit]").click()  # no name: stays, field marked
        expect(page.locator(".field.invalid #role-name")).to_be_visible()
        page.fill("#role-name", "Regional lead")
        page.select_option("#role-data-scope", "team")
        for scope in ROLE_SCOPES:
            page.check(f"input[name=scopes][value='{scope}']")
        page.locator("form[action='/app/roles'] button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("Regional lead")
        page.check("input[name='fp.annual_revenue'][value='hidden']")
        page.check("input[name='fp.mobile'][value='masked']")
        page.locator("form button.primary").click()
        expect(page.locator("[role=status]")).to_contain_text("saved")
        _shot(page, "access-role-edit")
        role_id = page.url.rsplit("/", 1)[-1]

        page.goto(f"{platform.gateway_url}/app/users")
        page.fill("#user-email", f"lead@{tenant.slug}.example.com")
        page.fill("#user-name", "Lead")
        page.fill("#user-password", "Temporary-pass-42")
        page.uncheck("form[action='/app/users'] input[name=roles][value='sales_rep']")
        page.check(f"form[action='/app/users'] input[name=roles][value='{role_id}']")
        page.select_option("#user-team", label="East China")
        page.locator("form[action='/app/users'] button[type=submit]").click()
        expect(page.locator("[role=status]")).to_contain_text("created")
        _shot(page, "access-users")
        row = page.locator("tr", has_text=f"lead@{tenant.slug}.example.com")
        row.locator("input[name=roles][value='customer_service']").check()
        row.locator("form[id^='user-'] button[type=submit]").click()  # the row's Save form
        expect(page.locator("[role=status]")).to_contain_text("Saved")

        page.goto(f"{platform.gateway_url}/lang/zh-CN?next=/app/roles")
        expect(page.locator("h1")).to_have_text("角色")
        _shot(page, "access-roles-zh")
    finally:
        context.close()

    with admin_http(tenant) as http:
        users = {u["email"]: u for u in http.get("/v1/users").json()["items"]}
        lead = users[f"lead@{tenant.slug}.example.com"]
        teams = {t["name"]: t for t in http.get("/v1/teams").json()["items"]}
        assert set(lead["roles"]) == {role_id, "customer_service"} and lead["team_id"] == teams["East China"]["id"]
        assert teams["East China"]["parent_id"] == teams["Sales"]["id"]
        assert http.get(f"/v1/roles/{role_id}/field-policies").json()["field_policies"] == {
            "annual_revenue": "hidden", "mobile": "masked"}
