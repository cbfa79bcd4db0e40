"""The tag pages in headless Chromium (zh-CN desktop, en at 390 px): the library with counts,
creating a tag and archiving one; the rule builder's preview and save; the usage review's
suggestions and bulk archive. Screenshots go under the basetemp (`tags-shots/`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_lists_web import chromium  # noqa: F401 - the module's browser fixture
from tests.e2e.test_customer_tags import _apply, _customer, _tag
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tags-shots")


def _shot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_library_rules_and_usage_pages(chromium: Browser, platform: Platform,  # noqa: F811
                                       tenant: TenantContext, shots: Path) -> None:
    http = admin_http(tenant)
    categories = http.get("/v1/tag-categories").json()["items"]
    value, preference = categories[2], categories[3]
    vip = created(http.post("/v1/tags", json={"name": "VIP", "color": "#e11d48", "category_id": value["id"],
                                              "exclusive_group": "tier", "description": "年度消费额高"}))
    big = _tag(http, "大客户", "#2563eb")
    _tag(http, "旧活动", "#9ca3af")
    customers = [_customer(http, f"星辰制造{i}号有限公司", f"1370000410{i}") for i in range(5)]
    for c in customers:
        http.patch(f"/v1/customers/{c['id']}", json={"industry": "制造"}, headers={"If-Match": 'W/"1"'})
        assert _apply(http, c, vip).status_code == 201
        assert _apply(http, c, big).status_code == 201
    wait_for(lambda: http.post("/v1/tag-rules:preview", json={"conditions": {
        "field": "industry", "op": "equals", "value": "制造"}}).json()["count"] == 5, timeout=30)

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/tags")
        expect(page.locator("[data-nav=tags]")).to_be_visible()
        expect(page.locator(".tag-group").first).to_contain_text("基本信息")
        row = page.locator(f"tr[data-tag-id='{vip['id']}']")
        expect(row.locator("[data-count]")).to_have_text("5")
        page.fill("#tag-name", "偏好电话")
        page.select_option("#tag-category", label="偏好")
        page.locator("#create-tag").click()
        expect(page.locator(".alert-success")).to_have_text("标签已创建。")
        expect(page.locator(f".tag-group[data-category='{preference['id']}'] tbody")).to_contain_text("偏好电话")
        _shot(page, shots, "library-zh-desktop")

        page.goto(f"{platform.gateway_url}/app/tags/rules")
        page.fill("#rule-name", "制造业大客户")
        page.select_option("#rule-tag", label="大客户")
        page.select_option("select[name=c0_subject]", value="industry")
        page.select_option("select[name=c0_op]", value="equals")
        page.fill("input[name=c0_value]", "制造")
        page.locator("#rule-preview-button").click()
        expect(page.locator("#rule-preview")).to_contain_text("当前有 5 位客户匹配")
        expect(page.locator("#rule-preview li")).to_have_count(5)
        _shot(page, shots, "rules-preview-zh-desktop")
        page.locator("#rule-save").click()
        expect(page.locator(".alert-success")).to_contain_text("规则已保存")
        expect(page.locator("#rules tbody tr")).to_have_count(1)
        expect(page.locator("#rules")).to_contain_text("制造业大客户")
        _shot(page, shots, "rules-zh-desktop")

        page.goto(f"{platform.gateway_url}/app/tags/usage")
        expect(page.locator("#suggestions")).to_contain_text("旧活动")
        expect(page.locator("#suggestions")).to_contain_text("“VIP”与“大客户”有 100% 的客户重叠")
        _shot(page, shots, "usage-zh-desktop")
        page.locator("#archive-selected").click()
        expect(page.locator(".alert-success")).to_contain_text("已归档")
        assert http.get("/v1/tags", params={"state": "archived"}).json()["items"].__len__() >= 1
    finally:
        context.close()

    phone = chromium.new_context(locale="en", viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = phone.new_page()
    try:
        _login(page, platform, tenant)
        for path, name in (("/app/tags", "library"), ("/app/tags/rules", "rules"), ("/app/tags/usage", "usage")):
            page.goto(f"{platform.gateway_url}{path}")
            expect(page.locator(".settings-tabs")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 392, f"{path} scrolls sideways at 390 px ({width})"
            _shot(page, shots, f"{name}-en-390")
        expect(page.locator("h1")).to_have_text("Tags")
    finally:
        phone.close()
