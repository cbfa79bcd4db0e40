"""Data scope and field policies enforced by the customers service (docs/access.md, Enforcement):
teams A and B, a manager of A, reps A1 and A2 in A, rep B1 in B, a customer-service user, each
signed in through the code flow after their first-login password change."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_login_security import NEW_PASSWORD, Browser, admin_http, create_user, web_session
from tests.e2e.test_roles_teams import created


@dataclass
class Org:
    http: dict[str, httpx.Client]  # who -> client with their bearer token
    users: dict[str, str]  # who -> user id
    customers: dict[str, dict[str, Any]]  # owner -> a customer they created


def _sign_in(platform: Platform, tenant: TenantContext, email: str) -> str:
    """First sign-in replaces the temporary password, then the plain code + PKCE flow."""
    first = Browser(platform.gateway_url)
    step = first.sign_in(tenant.slug, email, "Temporary-pass-42")
    first.token(first.submit(step, new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD))
    return str(tenant.api.login_code_flow(tenant.slug, email, NEW_PASSWORD)["access_token"])


def _eventually(check: Callable[[], bool], seconds: float = 15.0) -> None:
    """The owner -> team map arrives through identity's user events."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not consistent in time"
        time.sleep(0.2)


@pytest.fixture
def org(platform: Platform, tenant: TenantContext) -> Org:
    return build_org(platform, tenant)


def build_org(platform: Platform, tenant: TenantContext) -> Org:
    """Teams A and B, a manager of A, reps A1, A2 (A) and B1 (B), customer service, each with one
    customer made by them (and one by the admin)."""
    with admin_http(tenant) as admin:
        team_a = created(admin.post("/v1/teams", json={"name": "Team A"}))
        team_b = created(admin.post("/v1/teams", json={"name": "Team B"}))
    people = {
        "manager": ("sales_manager", team_a["id"]),
        "a1": ("sales_rep", team_a["id"]),
        "a2": ("sales_rep", team_a["id"]),
        "b1": ("sales_rep", team_b["id"]),
        "cs": ("customer_service", ""),
    }
    http = {"admin": admin_http(tenant)}
    users = {}
    for who, (role, team) in people.items():
        email = f"{who}@{tenant.slug}.example.com"
        user = create_user(tenant, email, roles=[role], team_id=team)
        users[who] = user["id"]
        http[who] = httpx.Client(base_url=platform.gateway_url, timeout=30,
                                 headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    customers = {}
    for n, who in enumerate(("a1", "a2", "b1", "admin")):
        reply = http[who].post("/v1/customers", json={
            "name": f"Customer of {who}", "mobile": f"1370013{n:04d}", "annual_revenue": "1250000.00",
        })
        assert reply.status_code == 201, reply.text
        customers[who] = reply.json()
    # Wait until customers knows everyone's team (the manager then sees A2's customer).
    _eventually(lambda: http["manager"].get(f"/v1/customers/{customers['a2']['id']}").status_code == 200)
    return Org(http=http, users=users, customers=customers)


def _ids(reply: httpx.Response) -> set[str]:
    assert reply.status_code == 200, reply.text
    return {c["id"] for c in reply.json()["items"]}


def test_rep_sees_only_own_customers(org: Org) -> None:
    rep, mine, other = org.http["a1"], org.customers["a1"], org.customers["a2"]
    assert rep.get(f"/v1/customers/{mine['id']}").status_code == 200
    hidden = rep.get(f"/v1/customers/{other['id']}")
    assert hidden.status_code == 404 and hidden.json()["code"] == "not_found"
    assert rep.patch(f"/v1/customers/{other['id']}", json={"name": "Mine now"},
                     headers={"If-Match": 'W/"1"'}).status_code == 404
    assert rep.get(f"/v1/customers/{other['id']}/status-history").status_code == 404
    assert _ids(rep.get("/v1/customers")) == {mine["id"]}
    assert _ids(rep.get("/v1/customers", params={"q": "Customer of a2"})) == set()
    assert _ids(rep.get("/v1/customers", params={"q": other["code"]})) == set()
    assert _ids(rep.get("/v1/customers", params={"owner_id": org.users["a2"]})) == set()
    # Assigning to someone outside the caller's data scope is a field error.
    moved = rep.patch(f"/v1/customers/{mine['id']}", json={"owner_id": org.users["a2"]},
                      headers={"If-Match": f'W/"{mine["version"]}"'})
    assert moved.status_code == 400 and moved.json()["errors"][0]["code"] == "owner_out_of_scope"
    made = rep.post("/v1/customers", json={"name": "Gift", "mobile": "13700139999", "owner_id": org.users["b1"]})
    assert made.status_code == 400 and made.json()["errors"][0]["field"] == "owner_id"


def test_manager_sees_the_team_not_other_teams(org: Org) -> None:
    manager = org.http["manager"]
    for who in ("a1", "a2"):
        assert manager.get(f"/v1/customers/{org.customers[who]['id']}").status_code == 200
    assert manager.get(f"/v1/customers/{org.customers['b1']['id']}").status_code == 404
    assert _ids(manager.get("/v1/customers")) == {org.customers["a1"]["id"], org.customers["a2"]["id"]}
    # Within the team a manager can reassign; to team B not.
    a1 = org.customers["a1"]
    to_b = manager.patch(f"/v1/customers/{a1['id']}", json={"owner_id": org.users["b1"]},
                         headers={"If-Match": f'W/"{a1["version"]}"'})
    assert to_b.status_code == 400 and to_b.json()["errors"][0]["code"] == "owner_out_of_scope"
    to_a2 = manager.patch(f"/v1/customers/{a1['id']}", json={"owner_id": org.users["a2"]},
                          headers={"If-Match": f'W/"{a1["version"]}"'})
    assert to_a2.status_code == 200 and to_a2.json()["owner_id"] == org.users["a2"]
    # ...and A1 no longer sees it.
    assert org.http["a1"].get(f"/v1/customers/{a1['id']}").status_code == 404


def test_admin_and_api_clients_see_all(org: Org, tenant: TenantContext) -> None:
    every = {c["id"] for c in org.customers.values()}
    assert _ids(org.http["admin"].get("/v1/customers")) == every
    client = httpx.Client(base_url=tenant.api.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {tenant.token(['customers:read'])}"})
    assert _ids(client.get("/v1/customers")) == every


def test_customer_service_never_receives_spend_fields(org: Org) -> None:
    cs = org.http["cs"]
    one = cs.get(f"/v1/customers/{org.customers['a1']['id']}")
    assert one.status_code == 200 and one.json()["annual_revenue"] is None
    assert org.http["admin"].get(f"/v1/customers/{org.customers['a1']['id']}").json()["annual_revenue"] == "1250000.00"
    items = cs.get("/v1/customers").json()["items"]
    assert len(items) == 4 and all(c["annual_revenue"] is None for c in items)
    assert "1250000" not in cs.get("/v1/customers").text
    # Filtering by a hidden field is refused rather than answered.
    assert _ids(cs.get("/v1/customers", params={"q": "1250000"})) == set()


def test_read_only_field_cannot_be_written(org: Org, platform: Platform, tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        role = created(admin.post("/v1/roles", json={
            "name": "Careful sales", "scopes": ["customers:read", "customers:write"], "data_scope": "all",
        }))
        assert admin.put(f"/v1/roles/{role['id']}/field-policies", json={"field_policies": {
            "annual_revenue": "read_only", "mobile": "masked",
        }}).status_code == 200
    email = f"careful@{tenant.slug}.example.com"
    create_user(tenant, email, roles=[role["id"]])
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"}) as careful:
        target = careful.get(f"/v1/customers/{org.customers['a1']['id']}").json()
        assert target["annual_revenue"] == "1250000.00" and target["mobile"] == "****"
        for body in ({"annual_revenue": "1.00"}, {"mobile": "13800138000"}):
            refused = careful.patch(f"/v1/customers/{target['id']}", json=body,
                                    headers={"If-Match": f'W/"{target["version"]}"'})
            assert refused.status_code == 400, refused.text
            assert refused.json()["errors"][0]["code"] == "field_read_only"
            assert refused.json()["errors"][0]["field"] == next(iter(body))
        assert careful.patch(f"/v1/customers/{target['id']}", json={"notes": "ok"},
                             headers={"If-Match": f'W/"{target["version"]}"'}).status_code == 200

        # The web edit form offers those fields disabled and never sends them, so saving the
        # fields the role may change works (it used to be refused with field_read_only).
        browser = web_session(platform, tenant.slug, email, NEW_PASSWORD)
        try:
            page = browser.get(f"/app/customers/{target['id']}").text
            for field in ("annual_revenue", "mobile"):
                assert re.search(rf'<input id="e-{field}"[^>]*\sdisabled', page), field
            notes = re.search(r'<textarea id="e-notes"[^>]*>', page)
            assert notes is not None and "disabled" not in notes.group(0)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
            version = careful.get(f"/v1/customers/{target['id']}").json()["version"]
            assert csrf is not None
            saved = browser.post(f"/app/customers/{target['id']}/edit", data={
                "csrf_token": csrf.group(1), "version": str(version), "name": target["name"], "type": target["type"],
                "notes": "saved from the web", "annual_revenue": "1.00", "mobile": "13800138000",
            })
            assert saved.status_code == 200 and saved.url.path == f"/app/customers/{target['id']}", saved.text[:300]
        finally:
            browser.close()
        after = careful.get(f"/v1/customers/{target['id']}").json()
        assert after["notes"] == "saved from the web" and after["annual_revenue"] == "1250000.00"


# who, method, path (customer of whom, or "" for the collection), body -> expected status.
# Allowed -> 2xx, permission missing -> 403, outside the data scope -> 404.
MATRIX: list[tuple[str, str, str, str, dict[str, Any] | None, int]] = [
    ("a1", "GET", "", "", None, 200),
    ("a1", "GET", "a1", "", None, 200),
    ("a1", "GET", "a2", "", None, 404),
    ("a1", "GET", "b1", "/status-history", None, 404),
    ("a1", "POST", "", "", {"name": "New", "mobile": "13700135555"}, 201),
    ("a1", "PATCH", "a1", "", {"notes": "x"}, 200),
    ("a1", "PATCH", "a2", "", {"notes": "x"}, 404),
    ("a1", "POST", "a2", ":change-status", {"status": "intent", "reason": "r"}, 404),
    ("a1", "DELETE", "b1", "", None, 404),
    ("a1", "POST", "a1", ":reveal", {"fields": ["resident_id"]}, 403),
    ("manager", "GET", "a2", "", None, 200),
    ("manager", "GET", "b1", "", None, 404),
    ("manager", "PATCH", "a2", "", {"notes": "x"}, 200),
    ("manager", "PATCH", "b1", "", {"notes": "x"}, 404),
    ("manager", "POST", "a1", ":change-status", {"status": "intent", "reason": "r"}, 200),
    ("manager", "DELETE", "b1", "", None, 404),
    ("cs", "GET", "b1", "", None, 200),
    ("cs", "GET", "", "", None, 200),
    ("cs", "POST", "", "", {"name": "New", "mobile": "13700135556"}, 403),
    ("cs", "PATCH", "a1", "", {"notes": "x"}, 403),
    ("cs", "DELETE", "a1", "", None, 403),
    ("b1", "GET", "b1", "/status-history", None, 200),
    ("admin", "GET", "b1", "", None, 200),
    ("admin", "PATCH", "a1", "", {"notes": "x"}, 200),
    ("admin", "POST", "b1", ":reveal", {"fields": ["resident_id"]}, 200),
    ("b1", "DELETE", "b1", "", None, 200),  # last: the customer is gone afterwards
]


def test_role_permission_endpoint_matrix(org: Org) -> None:
    failures = []
    for who, method, whose, suffix, body, expected in MATRIX:
        path = "/v1/customers" + (f"/{org.customers[whose]['id']}{suffix}" if whose else "")
        version = org.http["admin"].get(f"/v1/customers/{org.customers[whose]['id']}").json()["version"] if whose else 1
        reply = org.http[who].request(method, path, json=body, headers={"If-Match": f'W/"{version}"'})
        if reply.status_code != expected:
            failures.append((who, method, path, expected, reply.status_code, reply.text[:200]))
    assert not failures, failures
