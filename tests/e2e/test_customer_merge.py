"""Merge and undo across every service, over the real processes: two customers each with a tag
(applied by the tagging API's rules) and a follow-up task; merge -> the survivor has both tags and
both tasks, the merged one is 404 `customer_merged`, reporting counts one customer, webhooks deliver
`crm.customer.merged`; undo -> everything back where it was. Undo after 30 days, twice; isolation
(other tenant, a rep outside their scope, missing scope) and bad input naming the field."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from crm_dev.platform import Platform
from crm_platform.ids import tenant_schema
from tests.conftest import TenantContext, wait_for
from tests.e2e.receiver import Receiver
from tests.e2e.test_web_ui import _login, _shot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _created(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 201, reply.text
    body: dict[str, Any] = reply.json()
    return body


def _problem(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = reply.json()
    return body


def _tags(http: httpx.Client, customer_id: str) -> set[str]:
    reply = http.get(f"/v1/customers/{customer_id}/tags")
    assert reply.status_code == 200, reply.text
    return {t["tag_name"] for t in reply.json()["items"]}


def _tasks(http: httpx.Client, customer_id: str) -> set[str]:
    reply = http.get("/v1/followup-tasks", params={"customer_id": customer_id})
    assert reply.status_code == 200, reply.text
    return {t["title"] for t in reply.json()["items"]}


def _total(http: httpx.Client) -> int:
    return int(http.get("/v1/reports/customers-by-industry").json()["total"])


def _sql(platform: Platform, statement: str, params: dict[str, Any]) -> None:
    url = platform.database_url("customers").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        conn.execute(statement, params)  # type: ignore[arg-type]


def _pair(http: httpx.Client, suffix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    a = _created(http.post("/v1/customers", json={"name": f"Alpha Trading{suffix}", "mobile": "13800138000",
                                                  "email": "info@alpha.example", "industry": "IT"}))
    b = _created(http.post("/v1/customers", json={"name": f"Beta Trading{suffix}", "mobile": "13900139000",
                                                  "email": "sales@beta.example", "industry": "金融"}))
    return a, b


@pytest.fixture
def tagged(tenant: TenantContext) -> Iterator[tuple[httpx.Client, dict[str, Any], dict[str, Any]]]:
    """Survivor A (tag Alpha, task "Call A") and B (tag Beta, task "Call B"); both tagged Trading."""
    http = tenant.http()
    try:
        for name, value in (("Alpha", "Alpha"), ("Beta", "Beta"), ("Trading", "Trading")):
            tag = _created(http.post("/v1/tags", json={"name": name}))
            _created(http.post("/v1/tag-rules", json={"tag_id": tag["id"], "field": "name", "operator": "contains",
                                                      "value": value}))
        a, b = _pair(http)
        due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        for customer, title in ((a, "Call A"), (b, "Call B")):
            _created(http.post("/v1/followup-tasks", json={"customer_id": customer["id"], "title": title,
                                                           "due_at": due}))
        wait_for(lambda: _tags(http, a["id"]) == {"Alpha", "Trading"} and _tags(http, b["id"]) == {"Beta", "Trading"})
        yield http, a, b
    finally:
        http.close()


def test_merge_moves_everything_and_undo_puts_it_back(platform: Platform, tenant: TenantContext,
                                                      tagged: tuple[httpx.Client, Any, Any]) -> None:
    http, a, b = tagged
    receiver = Receiver()
    try:
        _created(http.post("/v1/webhook-endpoints", json={
            "url": receiver.url, "event_types": ["crm.customer.merged", "crm.customer.unmerged"]}))
        wait_for(lambda: _total(http) == 2)

        reply = http.post("/v1/customers:merge", json={
            "survivor_id": a["id"], "merged_ids": [b["id"]], "values": {"email": b["id"]},
        }, headers={"If-Match": f'W/"{a["version"]}"'})
        merge = _created(reply)
        assert reply.headers["Location"] == f"/v1/merges/{merge['id']}"
        assert merge["survivor"]["email"] == "sales@beta.example" and merge["changed_fields"] == ["email"]
        assert merge["undoable"] is True
        deadline = datetime.fromisoformat(merge["expires_at"].replace("Z", "+00:00"))
        assert timedelta(days=29, hours=23) < deadline - datetime.now(UTC) <= timedelta(days=30)

        gone = _problem(http.get(f"/v1/customers/{b['id']}"), 404)
        assert gone["code"] == "customer_merged" and gone["merged_into"] == a["id"]
        assert [c["id"] for c in http.get("/v1/customers").json()["items"]] == [a["id"]]
        # Other services follow the customer.merged event.
        wait_for(lambda: _tags(http, a["id"]) == {"Alpha", "Beta", "Trading"})
        wait_for(lambda: _tasks(http, a["id"]) == {"Call A", "Call B"})
        wait_for(lambda: _total(http) == 1)
        [delivered] = wait_for(lambda: [d.event for d in receiver.deliveries
                                        if d.event["type"] == "crm.customer.merged"])
        assert delivered["data"] == {"merge_id": merge["id"], "survivor_id": a["id"], "merged_ids": [b["id"]]}

        listed = http.get("/v1/merges").json()["items"]
        assert [m["id"] for m in listed] == [merge["id"]] and listed[0]["survivor_name"] == "Alpha Trading"
        assert http.get(f"/v1/merges/{merge['id']}").json()["merged_ids"] == [b["id"]]

        undone = http.post(f"/v1/merges/{merge['id']}:undo")
        assert undone.status_code == 200, undone.text
        assert undone.json()["undoable"] is False and undone.json()["survivor"]["email"] == "info@alpha.example"
        back = http.get(f"/v1/customers/{b['id']}")
        assert back.status_code == 200 and back.json()["email"] == "sales@beta.example"
        wait_for(lambda: _tags(http, a["id"]) == {"Alpha", "Trading"} and _tags(http, b["id"]) == {"Beta", "Trading"})
        wait_for(lambda: _tasks(http, a["id"]) == {"Call A"} and _tasks(http, b["id"]) == {"Call B"})
        wait_for(lambda: _total(http) == 2)
        wait_for(lambda: any(d.event["type"] == "crm.customer.unmerged" for d in receiver.deliveries))

        again = _problem(http.post(f"/v1/merges/{merge['id']}:undo"), 409)
        assert again["code"] == "merge_already_undone"
    finally:
        receiver.close()


def test_undo_after_30_days_and_after_an_edit(platform: Platform, tenant: TenantContext) -> None:
    with tenant.http() as http:
        a, b = _pair(http)
        merge = _created(http.post("/v1/customers:merge", json={"survivor_id": a["id"], "merged_ids": [b["id"]]}))
        survivor = http.get(f"/v1/customers/{a['id']}").json()
        edited = http.patch(f"/v1/customers/{a['id']}", json={"notes": "after the merge"},
                            headers={"If-Match": f'W/"{survivor["version"]}"'})
        assert edited.status_code == 200, edited.text
        changed = _problem(http.post(f"/v1/merges/{merge['id']}:undo"), 409)
        assert changed["code"] == "survivor_changed_since_merge"
        _sql(platform, f'UPDATE "{tenant_schema(tenant.tenant_id)}".merges '
                       "SET expires_at = now() - interval '1 minute' WHERE id = %(id)s", {"id": merge["id"]})
        expired = _problem(http.post(f"/v1/merges/{merge['id']}:undo", json={"force": True},
                                     headers={"Accept-Language": "zh-CN"}), 409)
        assert expired["code"] == "merge_undo_expired" and expired["title"] == "撤销期限已过"
        assert http.get(f"/v1/merges/{merge['id']}").json()["undoable"] is False
        assert http.get(f"/v1/customers/{b['id']}").status_code == 404


def test_bad_input_names_the_field(tenant: TenantContext) -> None:
    with tenant.http() as http:
        a, b = _pair(http)
        cases: list[tuple[dict[str, Any], str, str]] = [
            ({"survivor_id": a["id"], "merged_ids": [a["id"]]}, "merged_ids[0]", "survivor_in_merged"),
            ({"survivor_id": a["id"], "merged_ids": [b["id"], b["id"]]}, "merged_ids[1]", "duplicate"),
            ({"survivor_id": a["id"], "merged_ids": [b["id"]] * 10}, "merged_ids", "too_many"),
            ({"survivor_id": a["id"], "merged_ids": [b["id"]], "values": {"colour": b["id"]}}, "values.colour",
             "unknown_field"),
            ({"survivor_id": a["id"], "merged_ids": [b["id"]], "values": {"email": str(uuid.uuid4())}},
             "values.email", "not_involved"),
            ({"survivor_id": a["id"], "merged_ids": [b["id"]], "surprise": 1}, "surprise", "unknown_field"),
        ]
        for body, field, code in cases:
            problem = _problem(http.post("/v1/customers:merge", json=body), 400)
            assert (field, code) in {(e["field"], e["code"]) for e in problem["errors"]}, problem
        # Nothing half-written: B is live and nothing was merged.
        assert http.get(f"/v1/customers/{b['id']}").status_code == 200
        assert http.get("/v1/merges").json()["items"] == []


def test_isolation_scope_and_missing_scope(platform: Platform, tenant: TenantContext,
                                           other_tenant: TenantContext) -> None:
    from tests.e2e.test_access_enforcement import _sign_in
    from tests.e2e.test_login_security import create_user

    with tenant.http() as http, other_tenant.http() as other, tenant.http(["customers:read"]) as reader:
        a, b = _pair(http)
        merge = _created(http.post("/v1/customers:merge", json={"survivor_id": a["id"], "merged_ids": [b["id"]]}))
        # Another tenant: the customers and the merge do not exist for it.
        x, _ = _pair(other)
        assert _problem(other.post("/v1/customers:merge", json={"survivor_id": x["id"], "merged_ids": [a["id"]]}),
                        404)["code"] == "not_found"
        assert _problem(other.get(f"/v1/merges/{merge['id']}"), 404)["code"] == "not_found"
        assert _problem(other.post(f"/v1/merges/{merge['id']}:undo"), 404)["code"] == "not_found"
        # Missing scope: 403 at the gateway and in the service.
        assert _problem(reader.post("/v1/customers:merge", json={"survivor_id": a["id"], "merged_ids": [b["id"]]}),
                        403)["code"] == "permission_denied"
        assert _problem(reader.post(f"/v1/merges/{merge['id']}:undo"), 403)["code"] == "permission_denied"

        # A rep sees only their own customers: another's customer is 404 in a merge, and so is the merge.
        email = f"rep@{tenant.slug}.example.com"
        create_user(tenant, email, roles=["sales_rep"])
        rep = httpx.Client(base_url=platform.gateway_url, timeout=30,
                           headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"})
        with rep:
            own1, own2 = _pair(rep, " (rep)")
            out = _problem(rep.post("/v1/customers:merge", json={"survivor_id": own1["id"],
                                                                 "merged_ids": [own2["id"], a["id"]]}), 404)
            assert out["code"] == "not_found"
            assert rep.get(f"/v1/customers/{own2['id']}").status_code == 200  # nothing half-written
            assert _problem(rep.get(f"/v1/merges/{merge['id']}"), 404)["code"] == "not_found"
            assert _problem(rep.post(f"/v1/merges/{merge['id']}:undo"), 404)["code"] == "not_found"
            assert rep.get("/v1/merges").json()["items"] == []
            mine = _created(rep.post("/v1/customers:merge", json={"survivor_id": own1["id"],
                                                                  "merged_ids": [own2["id"]]}))
            assert [m["id"] for m in rep.get("/v1/merges").json()["items"]] == [mine["id"]]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_merge_screen_in_the_browser(chromium: Browser, platform: Platform, tenant: TenantContext,
                                     locale: str) -> None:
    with tenant.http() as http:
        a, b = _pair(http)
        http.patch(f"/v1/customers/{b['id']}", json={"resident_id": "11010519491231002X"},
                   headers={"If-Match": f'W/"{b["version"]}"'}).raise_for_status()
    context = chromium.new_context(locale=locale, viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        # From the list: tick both, "Merge selected".
        page.locator(f"input[name=ids][value='{a['id']}']").check()
        page.locator(f"input[name=ids][value='{b['id']}']").check()
        page.locator("#merge-selected").click()
        page.wait_for_url("**/app/customers/merge?*")
        # Keep Alpha (the list shows the newest, Beta, first): its column moves first, its values preselected.
        page.locator(f"#keep-{a['id']}").click()
        page.wait_for_url(f"**survivor={a['id']}")
        expect(page.locator("th.kept")).to_contain_text("Alpha Trading")
        expect(page.locator(f"tr[data-field=email] input[value='{a['id']}']")).to_be_checked()
        expect(page.locator("tr[data-field=email]")).to_have_class("differs")
        expect(page.locator("tr[data-field=resident_id]")).to_contain_text("110***********002X")
        expect(page.locator("tr[data-field=resident_id]")).not_to_contain_text("11010519491231002X")
        page.locator(f"tr[data-field=email] input[value='{b['id']}']").check()
        page.locator(f"tr[data-field=resident_id] input[value='{b['id']}']").check()
        _shot(page, f"customer-merge-{locale}")
        page.locator("#merge-submit").click()
        page.wait_for_url(f"**/app/customers/{a['id']}")
        expect(page.locator(".facts")).to_contain_text("sales@beta.example")
        expect(page.locator(".facts")).to_contain_text("110***********002X")
        expect(page.locator(".merge-notice")).to_be_visible()
        _shot(page, f"customer-merge-survivor-{locale}")

        page.goto(f"{platform.gateway_url}/app/customers/{b['id']}")
        expect(page.locator("h1")).to_contain_text("客户已被合并" if locale == "zh-CN" else "Customer merged")
        page.locator("a.button").click()
        page.wait_for_url(f"**/app/customers/{a['id']}")

        page.goto(f"{platform.gateway_url}/app/customers/merges")
        expect(page.locator("table.merges tbody tr")).to_have_count(1)
        _shot(page, f"customer-merges-{locale}")
        page.locator("table.merges button[type=submit]").click()
        page.wait_for_url("**/app/customers/merges")
        expect(page.locator(".badge-merge-undone")).to_be_visible()
        page.goto(f"{platform.gateway_url}/app/customers/{b['id']}")
        expect(page.locator("h1")).to_contain_text("Beta Trading")
    finally:
        context.close()
