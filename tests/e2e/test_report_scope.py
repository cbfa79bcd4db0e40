"""Data scope on reports against the real processes (docs/reporting.md, "Data scope"): customers,
orders and users reach reporting through NATS; each report counts only the customers the caller's
token lets them see. Teams A and B, a manager of A, reps A1 and A2 in A, B1 in B (the
`org` of test_access_enforcement), plus a rep in A whose custom role grants `reports:read` with data
scope `own`; moving A2 to team B changes what the manager's reports count."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import Org, _sign_in, org  # noqa: F401  (org is a fixture)
from tests.e2e.test_isolation import _identity_signed
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_orders import _eventually, _order
from tests.e2e.test_roles_teams import created

AMOUNTS = {"a1": "100.00", "a2": "200.00", "b1": "400.00", "admin": "800.00", "rr": "1600.00"}
REPORTS = ("/v1/reports/customers-by-industry", "/v1/reports/spend", "/v1/reports/customer-value")


def _reports(http: httpx.Client) -> tuple[int, str, set[str]]:
    """(customers counted, CNY spend this year, customer ids in the value report)."""
    industry = http.get(REPORTS[0])
    spend = http.get(REPORTS[1], params={"currency": "CNY"})
    value = http.get(REPORTS[2], params={"currency": "CNY", "limit": 100})
    for reply in (industry, spend, value):
        assert reply.status_code == 200, reply.text
    amount = sum(float(row["amount"]) for row in spend.json()["rows"])
    return industry.json()["total"], f"{amount:.2f}", {row["customer_id"] for row in value.json()["rows"]}


def _expected(customers: dict[str, dict[str, Any]], *owners: str) -> tuple[int, str, set[str]]:
    return (len(owners), f"{sum(float(AMOUNTS[w]) for w in owners):.2f}", {customers[w]["id"] for w in owners})


@pytest.fixture
def reporting_org(org: Org, platform: Platform, tenant: TenantContext) -> Org:  # noqa: F811
    """`org` plus "rr", a rep of team A whose role grants reports:read (data scope own), and one
    paid order per customer, all visible to the admin's reports."""
    admin = org.http["admin"]
    role = created(admin.post("/v1/roles", json={
        "name": "Rep with reports", "data_scope": "own",
        "scopes": ["customers:read", "customers:write", "orders:read", "reports:read"],
    }))
    team_a = org.http["admin"].get(f"/v1/users/{org.users['a1']}").json()["team_id"]
    email = f"rr@{tenant.slug}.example.com"
    org.users["rr"] = create_user(tenant, email, roles=[role["id"]], team_id=team_a)["id"]
    org.http["rr"] = httpx.Client(base_url=platform.gateway_url, timeout=30,
                                  headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
    made = org.http["rr"].post("/v1/customers", json={"name": "Customer of rr", "mobile": "13700138888"})
    assert made.status_code == 201, made.text
    org.customers["rr"] = made.json()
    for who, amount in AMOUNTS.items():
        reply = admin.post("/v1/orders", json=_order(org.customers[who]["code"], f"R-{who}", amount=amount))
        assert reply.status_code == 201, reply.text
    everyone = _expected(org.customers, *AMOUNTS)
    _eventually(lambda: _reports(admin) == everyone, seconds=60)
    return org


def test_reports_count_only_the_callers_data_scope(reporting_org: Org, other_tenant: TenantContext,
                                                   tenant: TenantContext) -> None:
    people, customers = reporting_org, reporting_org.customers
    # all: the tenant admin sees every customer.
    assert _reports(people.http["admin"]) == _expected(customers, *AMOUNTS)
    # own: a rep whose role grants reports:read sees only their customer.
    assert _reports(people.http["rr"]) == _expected(customers, "rr")
    # team: the manager sees team A (A1, A2 and rr), never B1's or the admin's customers.
    _eventually(lambda: _reports(people.http["manager"]) == _expected(customers, "a1", "a2", "rr"), seconds=30)
    # Another tenant never sees any of them.
    with admin_http(other_tenant) as stranger:
        assert _reports(stranger) == (0, "0.00", set())
    # A built-in sales rep (reports:read since issue 11) sees their own customer only.
    assert _reports(people.http["a1"]) == _expected(customers, "a1")
    # A token without reports:read is refused.
    for path in REPORTS:
        refused = tenant.http(["customers:read", "orders:read"]).get(path)
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied", refused.text


def test_moving_a_rep_to_another_team_changes_the_managers_reports(reporting_org: Org) -> None:
    people, customers = reporting_org, reporting_org.customers
    manager = people.http["manager"]
    _eventually(lambda: _reports(manager) == _expected(customers, "a1", "a2", "rr"), seconds=30)
    admin = people.http["admin"]
    team_b = admin.get(f"/v1/users/{people.users['b1']}").json()["team_id"]
    etag = admin.get(f"/v1/users/{people.users['a2']}").headers["etag"]
    moved = admin.patch(f"/v1/users/{people.users['a2']}", json={"team_id": team_b}, headers={"If-Match": etag})
    assert moved.status_code == 200, moved.text
    # identity's user.updated reaches reporting's owner -> team map; the manager's token is unchanged.
    _eventually(lambda: _reports(manager) == _expected(customers, "a1", "rr"), seconds=30)
    assert _reports(admin) == _expected(customers, *AMOUNTS)


def _with_claims(token: str, **claims: Any) -> str:
    """The token with its payload changed and its original signature: a forgery."""
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(claims)
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_forged_and_expired_tokens_get_no_report(reporting_org: Org, platform: Platform,
                                                tenant: TenantContext) -> None:
    manager_token = str(reporting_org.http["manager"].headers["authorization"]).removeprefix("Bearer ")
    widened = _with_claims(manager_token, ds="all")
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for token in (widened, expired):
        for path in REPORTS:
            reply = httpx.get(f"{platform.gateway_url}{path}", headers={"Authorization": f"Bearer {token}"})
            assert reply.status_code == 401, reply.text
            assert reply.headers["content-type"].startswith("application/problem+json")
