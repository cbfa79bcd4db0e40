"""The customer Timeline and the mass-change dialog in headless Chromium (zh-CN and en): icons and
descriptions per kind, relative times, "load more"; the dialog with the matching count, the
self-refreshing progress bar and the summary with failures. Screenshots in /tmp/shots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_detail_web import CHROMIUM
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login, _shot

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def _open(chromium: Browser, platform: Platform, tenant: TenantContext, locale: str) -> Page:
    context = chromium.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    _login(page, platform, tenant)
    return page


def test_timeline_and_mass_change(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    tag = created(admin.post("/v1/tags", json={"name": "重点客户"}))
    created(admin.post("/v1/tag-rules", json={"tag_id": tag["id"], "field": "name", "operator": "contains",
                                              "value": "批量"}))
    people: list[dict[str, Any]] = [
        created(admin.post("/v1/customers", json={"name": f"批量测试公司{n}", "mobile": f"1380013900{n}"}))
        for n in range(4)
    ]
    first = people[0]
    version = first["version"]
    for n in range(22):  # enough entries for "load more"
        reply = admin.patch(f"/v1/customers/{first['id']}", json={"notes": f"第 {n} 次沟通"},
                            headers={"If-Match": f'W/"{version}"'})
        assert reply.status_code == 200, reply.text
        version = reply.json()["version"]
    assert admin.post(f"/v1/customers/{first['id']}:change-status",
                      json={"status": "intent", "reason": "演示后有兴趣"}).status_code == 200
    won = people[1]
    assert admin.post(f"/v1/customers/{won['id']}:change-status",
                      json={"status": "won", "reason": "已签约"}).status_code == 200
    created(admin.post("/v1/followup-tasks", json={"customer_id": first["id"], "title": "电话回访",
                                                   "due_at": "2030-01-01T08:00:00Z"}))
    wait_for(lambda: {e["kind"] for e in admin.get(f"/v1/customers/{first['id']}/timeline").json()["items"]}
             >= {"tag_applied", "task_created"}, timeout=30)

    page = _open(chromium, platform, tenant, "zh-CN")
    try:
        page.goto(f"{platform.gateway_url}/app/customers/{first['id']}")
        timeline = page.locator("#timeline")
        expect(timeline.locator("h2")).to_have_text("客户动态")
        expect(timeline.locator("li").first).to_contain_text("新建了跟进任务")
        expect(timeline).to_contain_text("「电话回访」")
        expect(timeline).to_contain_text("变更了状态")
        expect(timeline).to_contain_text("原因：演示后有兴趣")
        expect(timeline).to_contain_text("状态: 潜在 → 意向")
        expect(timeline).to_contain_text("刚刚")
        expect(timeline.locator("li")).to_have_count(20)
        _shot(page, "customer-timeline-zh")
        page.locator("#timeline-more").click()
        expect(timeline.locator("li")).to_have_count(26)  # 22 edits, status, tag, task, created
        expect(timeline.locator("li").last).to_contain_text("创建了客户")
        expect(timeline).to_contain_text("「重点客户」 · 由自动规则添加")
        expect(page.locator("#timeline-more")).to_have_count(0)

        # Mass change from the list, filtered by the search.
        page.goto(f"{platform.gateway_url}/app/customers?q=批量")
        _shot(page, "customers-list-bulk-button-zh")
        page.locator("#bulk-change").click()
        page.wait_for_url("**/app/customers/bulk-change?q=*")
        expect(page.locator("#bulk-count")).to_contain_text("4 个客户")
        page.check("#change-status")
        page.select_option("#status", "lost")
        page.fill("#reason", "年底清理")
        _shot(page, "bulk-change-dialog-zh")
        page.locator("#bulk-start").click()
        page.wait_for_url("**/app/customer-bulk-changes/*")
        expect(page.locator("#bulk-done")).to_be_visible(timeout=30_000)
        expect(page.locator("#bulk-changed")).to_have_text("4")
        expect(page.locator("#bulk-percent")).to_have_text("100%")
        _shot(page, "bulk-change-done-zh")

        # A status change where one customer cannot transition (won -> potential).
        page.goto(f"{platform.gateway_url}/app/customers/bulk-change?q=批量")
        page.check("#change-status")
        page.select_option("#status", "intent")
        page.locator("#bulk-start").click()
        expect(page.locator("#reason-error")).to_be_visible()  # a reason is required
        page.fill("#reason", "重新跟进")
        page.locator("#bulk-start").click()
        expect(page.locator("#bulk-done")).to_be_visible(timeout=30_000)
        expect(page.locator("#bulk-failed")).to_have_text("0")
    finally:
        page.context.close()

    page = _open(chromium, platform, tenant, "en-US")
    try:
        # Status is now intent for all four; won -> ... made earlier: check the English summary with a failure.
        assert admin.post(f"/v1/customers/{won['id']}:change-status",
                          json={"status": "won", "reason": "signed"}).status_code == 200
        page.goto(f"{platform.gateway_url}/app/customers/bulk-change?q=批量")
        expect(page.locator("#bulk-count")).to_contain_text("4 customers match")
        page.check("#change-status")
        page.select_option("#status", "potential")
        page.fill("#reason", "Back to the funnel")
        _shot(page, "bulk-change-dialog-en")
        page.locator("#bulk-start").click()
        expect(page.locator("#bulk-done")).to_be_visible(timeout=30_000)
        expect(page.locator("#bulk-failures")).to_contain_text(won["name"])
        expect(page.locator("#bulk-failures")).to_contain_text("status rules do not allow")
        expect(page.locator("#bulk-failed")).to_have_text("1")
        _shot(page, "bulk-change-failures-en")
        page.goto(f"{platform.gateway_url}/app/customers/{won['id']}")
        expect(page.locator("#timeline")).to_contain_text("changed the status")
        expect(page.locator("#timeline")).to_contain_text("Reason: signed")
        _shot(page, "customer-timeline-en")
    finally:
        page.context.close()
