"""The customer list's status filter and "More filters" panel in headless Chromium (zh-CN and en):
filtering by status and by an exact mobile, removable chips for the active filters, a bad value's
error next to its control, and the filters kept by a saved view, the export form and the
mass-change link. Screenshots in /tmp/filters-shots/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_lists_web import chromium  # noqa: F401 - the module's browser fixture
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login

SHOTS = Path("/tmp/filters-shots")


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _names(page: Page) -> list[str]:
    return sorted(page.locator("table tbody td.strong a").all_inner_texts())


def _chips(page: Page) -> list[str]:
    texts = page.locator("#active-filters .filter-chip").all_inner_texts()
    return [" ".join(text.replace("×", "").split()) for text in texts]


def test_status_and_more_filters(chromium: Browser, platform: Platform,  # noqa: F811
                                 tenant: TenantContext) -> None:
    http = admin_http(tenant)
    won = created(http.post("/v1/customers", json={"name": "北京星辰科技有限公司", "mobile": "13800138001"}))
    assert http.post(f"/v1/customers/{won['id']}:change-status",
                     json={"status": "won", "reason": "签约"}).status_code == 200
    created(http.post("/v1/customers", json={"name": "上海云帆贸易有限公司", "mobile": "13800138002",
                                             "email": "sales@yunfan.cn"}))
    created(http.post("/v1/customers", json={"name": "广州海岸咨询有限公司", "mobile": "13800138003"}))

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/customers")
        assert len(_names(page)) == 3
        # Status, the most used filter, sits in the bar.
        page.select_option("#status-filter", label="成交")
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url("**status=won**")
        assert _names(page) == ["北京星辰科技有限公司"]
        assert _chips(page) == ["状态: 成交"]
        _shot(page, "status-zh")
        # The mass-change dialog takes the status filter (its own status field is the change).
        page.locator("#bulk-change").click()
        page.wait_for_url("**/app/customers/bulk-change?**status=won**")
        expect(page.locator("#bulk-count")).to_contain_text("1 个客户")
        expect(page.locator(".filter-chips")).to_contain_text("状态: 成交")
        page.check("#change-status")
        page.select_option("#status", "lost")
        page.fill("#reason", "合同终止")
        page.locator("#bulk-start").click()
        page.wait_for_url("**/app/customer-bulk-changes/*")
        expect(page.locator("#bulk-done")).to_be_visible(timeout=30_000)
        expect(page.locator("#bulk-changed")).to_have_text("1")
        page.goto(f"{platform.gateway_url}/app/customers?status=lost")
        assert _names(page) == ["北京星辰科技有限公司"]
        page.goto(f"{platform.gateway_url}/app/customers")

        # "More filters": an exact mobile in any format.
        page.locator("#more-filters-open").click()
        page.select_option("#status-filter", value="")
        page.fill("#filter-mobile", "138 0013 8002")
        _shot(page, "more-filters-open-zh")
        page.locator("#more-filters-apply").click()
        page.wait_for_url("**mobile=**")
        assert _names(page) == ["上海云帆贸易有限公司"]
        assert _chips(page) == ["手机号: 138 0013 8002"]
        expect(page.locator("#more-filters-open .tag-count")).to_have_text("1")

        # The export form, the view form and the mass-change link carry the filter.
        assert page.locator("#export-form input[name=mobile]").get_attribute("value") == "138 0013 8002"
        bulk = page.locator("#bulk-change").get_attribute("href") or ""
        assert parse_qs(urlparse(bulk).query)["mobile"] == ["138 0013 8002"]

        # Saving a view keeps the panel's filter; applying the view brings it back.
        page.locator("#view-save-open").click()
        page.fill("#view-name", "云帆")
        page.locator("#view-save").click()
        page.wait_for_url("**view=**")
        assert _names(page) == ["上海云帆贸易有限公司"]
        assert page.locator("#filter-mobile").input_value() == "138 0013 8002"  # in the closed panel
        views = http.get("/v1/customer-views").json()["items"]
        assert [(v["name"], v["filters"]) for v in views] == [("云帆", {"mobile": "138 0013 8002"})]
        # Removing the chip under the view drops the filter (not back to the view's value).
        page.locator("#active-filters .tag-remove").click()
        page.wait_for_url("**mobile=**")
        assert len(_names(page)) == 3 and _chips(page) == []

        # A bad value: the error next to its control, the panel open, no rows.
        page.goto(f"{platform.gateway_url}/app/customers?email=not-an-email")
        expect(page.locator("#more-filters")).to_have_attribute("open", "")
        expect(page.locator("#filter-email-error")).to_have_text("邮箱地址无效。")
        assert page.locator("#filter-email").get_attribute("aria-invalid") == "true"
        assert _names(page) == []
        _shot(page, "bad-email-zh")
    finally:
        context.close()

    english = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = english.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/customers?status=lost&created_after=2020-01-01")
        assert _names(page) == ["北京星辰科技有限公司"]
        assert _chips(page) == ["Status: Lost", "Created from: 2020-01-01"]
        page.locator("#more-filters-open").click()
        expect(page.locator(".more-filters-panel")).to_be_visible()
        _shot(page, "more-filters-en")
        # Acquired (first contact, else created): where a dashboard's "new customers" click lands.
        today = won["created_at"][:10]
        page.goto(f"{platform.gateway_url}/app/customers?acquired_after={today}&acquired_before={today}")
        assert len(_names(page)) == 3
        assert _chips(page) == [f"Acquired from: {today}", f"Acquired until: {today}"]
        assert page.locator("#filter-acquired_after").input_value() == today
        page.goto(f"{platform.gateway_url}/app/customers?acquired_before=2000-01-01")
        assert _names(page) == []
    finally:
        english.close()
