"""People by name over REST, end to end: identity's user events carry names and the disabled flag
to customers, customer replies carry `owner_name`, `GET /v1/customer-owners` lists exactly the users
the caller may make owners (data scope own / team / all, disabled users left out, never another
tenant's), follow-up tasks record who created them and the timeline names its actors. Isolation and
authorisation: another tenant, a missing scope, an expired and a forged token."""

from __future__ import annotations

from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.oauth_flows import identity_keyring_token
from tests.e2e.test_access_enforcement import Org, org  # noqa: F401  (fixture)
from tests.e2e.test_login_security import admin_http, forged_token
from tests.e2e.test_roles_teams import created

NAMES = {"manager": "Maggie Manager", "a1": "Alice Able", "a2": "Aaron Ames", "b1": "Bella Brown",
         "cs": "Carl Service"}


def owner_ids(http: httpx.Client, **params: Any) -> list[str]:
    reply = http.get("/v1/customer-owners", params=params)
    assert reply.status_code == 200, reply.text
    return [o["user_id"] for o in reply.json()["items"]]


def set_user(admin: httpx.Client, user_id: str, **changes: Any) -> None:
    current = admin.get(f"/v1/users/{user_id}")
    assert current.status_code == 200, current.text
    reply = admin.patch(f"/v1/users/{user_id}", json=changes, headers={"If-Match": current.headers["etag"]})
    assert reply.status_code == 200, reply.text


def admin_id(admin: httpx.Client) -> str:
    users = admin.get("/v1/users").json()["items"]
    return next(u["id"] for u in users if u["email"].startswith("admin@"))


def test_owner_names_and_candidates_per_data_scope(org: Org, tenant: TenantContext,  # noqa: F811
                                                   other_tenant: TenantContext) -> None:
    admin = org.http["admin"]
    for who, name in NAMES.items():
        set_user(admin, org.users[who], display_name=name)
    me = admin_id(admin)
    everyone = {me, *org.users.values()}
    # The renames reach customers through `user.updated`.
    wait_for(lambda: admin.get(f"/v1/customers/{org.customers['a1']['id']}").json()["owner_name"] == "Alice Able")
    listed = admin.get("/v1/customers", params={"owner_id": org.users["b1"]}).json()["items"]
    assert [(c["owner_id"], c["owner_name"]) for c in listed] == [(org.users["b1"], "Bella Brown")]

    assert owner_ids(org.http["a1"]) == [org.users["a1"]]  # own
    assert set(owner_ids(org.http["manager"])) == {org.users[w] for w in ("manager", "a1", "a2")}  # team
    assert set(owner_ids(admin)) == everyone  # all
    with tenant.http(["customers:read"]) as client:  # an API client acts for the whole tenant
        assert set(owner_ids(client)) == everyone
    with other_tenant.http(["customers:read"]) as stranger:
        assert not set(owner_ids(stranger)) & everyone
    # By name, a case-insensitive prefix; pages add up to the whole list.
    full = admin.get("/v1/customer-owners").json()["items"]
    assert [o["display_name"] for o in full] == sorted((o["display_name"] for o in full), key=str.casefold)
    assert owner_ids(org.http["manager"], q="aa") == [org.users["a2"]]
    assert owner_ids(admin, q="ALICE") == [org.users["a1"]]
    paged, token = [], ""
    while True:
        page = admin.get("/v1/customer-owners", params={"page_size": 2, "page_token": token}).json()
        paged += [o["user_id"] for o in page["items"]]
        token = page.get("next_page_token", "")
        if not token:
            break
    assert paged == [o["user_id"] for o in full]

    # Disabled users keep their customers (and names) but are no longer offered.
    set_user(admin, org.users["a2"], disabled=True)
    wait_for(lambda: org.users["a2"] not in owner_ids(org.http["manager"]))
    assert admin.get(f"/v1/customers/{org.customers['a2']['id']}").json()["owner_name"] == "Aaron Ames"
    set_user(admin, org.users["a2"], disabled=False)
    wait_for(lambda: org.users["a2"] in owner_ids(org.http["manager"]))


def test_customer_owners_bad_input_and_authorisation(platform: Platform, tenant: TenantContext) -> None:
    with tenant.http(["customers:read"]) as http:
        for params, field in (({"page_token": "forged"}, "page_token"), ({"q": "x" * 101}, "q"),
                              ({"page_size": 0}, "page_size"), ({"owner": "x"}, "owner")):
            reply = http.get("/v1/customer-owners", params=params)
            assert reply.status_code == 400, reply.text
            assert reply.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in reply.json()["errors"]] == [field]
    with tenant.http(["tags:read"]) as no_scope:
        reply = no_scope.get("/v1/customer-owners")
        assert reply.status_code == 403 and reply.json()["code"] == "permission_denied"
    expired = identity_keyring_token(platform, tenant.tenant_id, ttl=-120, scopes=["customers:read"])
    for token in (expired, forged_token(platform, tenant), ""):
        with httpx.Client(base_url=platform.gateway_url, timeout=30,
                          headers={"Authorization": f"Bearer {token}"} if token else {}) as http:
            assert http.get("/v1/customer-owners").status_code == 401


def test_tasks_record_their_creator_and_the_timeline_names_people(tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    me = admin_id(admin)
    set_user(admin, me, display_name="管理员 张伟")
    customer = created(admin.post("/v1/customers", json={"name": "星辰科技", "mobile": "13800138071"}))
    cid = customer["id"]
    mine = created(admin.post("/v1/followup-tasks", json={"customer_id": cid, "title": "电话回访",
                                                          "due_at": "2030-01-01T08:00:00Z"}))
    with tenant.http() as client:
        theirs = created(client.post("/v1/followup-tasks", json={"customer_id": cid, "title": "同步订单",
                                                                 "due_at": "2030-01-02T08:00:00Z"}))
        client_id = theirs["created_by"].removeprefix("client:")
    assert mine["created_by"] == me and theirs["created_by"].startswith("client:") and client_id
    listed = {t["title"]: t["created_by"] for t in admin.get("/v1/followup-tasks",
                                                              params={"customer_id": cid}).json()["items"]}
    assert listed == {"电话回访": me, "同步订单": theirs["created_by"]}

    def tasks() -> dict[str, Any]:
        items = admin.get(f"/v1/customers/{cid}/timeline").json()["items"]
        return {e["data"]["title"]: e for e in items if e["kind"] == "task_created"}

    # The customer and its status history name the people who changed them.
    wait_for(lambda: admin.get(f"/v1/customers/{cid}").json()["created_by_name"] == "管理员 张伟")
    changed = admin.post(f"/v1/customers/{cid}:change-status", json={"status": "intent", "reason": "有意向"})
    assert changed.status_code == 200 and changed.json()["updated_by_name"] == "管理员 张伟", changed.text
    history = admin.get(f"/v1/customers/{cid}/status-history").json()["items"]
    assert {(h["changed_by"], h["changed_by_name"]) for h in history} == {(me, "管理员 张伟")}

    entries = wait_for(lambda: len(tasks()) == 2 and all(e["actor"] for e in tasks().values()) and tasks())
    assert (entries["电话回访"]["actor"], entries["电话回访"]["actor_name"]) == (me, "管理员 张伟")
    assert (entries["同步订单"]["actor"], entries["同步订单"]["actor_name"]) == (theirs["created_by"], None)
