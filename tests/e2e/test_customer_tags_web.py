"""Tags in headless Chromium (zh-CN and en): on a customer's page add tags from the tenant's list
and remove one (coloured chips; the timeline shows the removal); on the customer list pick tags in
the filter bar (customers carrying all of them, chips for the active ones, × drops one)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_lists_web import chromium  # noqa: F401 - the module's browser fixture
from tests.e2e.test_customer_tags import _apply, _customer, _settles, _tag
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_web_ui import _login

SHOTS = Path("/tmp/tags-shots")


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _names(page: Page) -> list[str]:
    return sorted(page.locator("table tbody td.strong a").all_inner_texts())


def _chips(page: Page, selector: str) -> list[str]:
    return [text.replace("×", "").replace("自动", "").replace("auto", "").strip()
            for text in page.locator(f"{selector} .tag-chip").all_inner_texts()]


def test_tags_on_the_detail_page_and_the_list_filter(chromium: Browser, platform: Platform,  # noqa: F811
                                                     tenant: TenantContext) -> None:
    http = admin_http(tenant)
    vip, key = _tag(http, "VIP", "#e11d48"), _tag(http, "重点客户", "#16a34a")
    _tag(http, "科技", "#2563eb")
    first = _customer(http, "北京星辰科技有限公司", "13700000801")
    second = _customer(http, "上海云帆贸易有限公司", "13700000802")
    _customer(http, "广州海岸咨询有限公司", "13700000803")
    assert _apply(http, first, vip).status_code == 201
    assert _apply(http, first, key).status_code == 201
    _settles(http, {"北京星辰科技有限公司"}, vip)

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        # The detail page: no tags yet; add two from the tenant's list, remove one.
        page.goto(f"{platform.gateway_url}/app/customers/{second['id']}")
        expect(page.locator("#tags")).to_contain_text("暂无标签")
        page.select_option("#tag-add-select", label="VIP")
        page.locator("#tag-add").click()
        page.wait_for_url(f"**/app/customers/{second['id']}**")
        expect(page.locator(".alert-success")).to_have_text("标签已添加。")
        page.select_option("#tag-add-select", label="科技")
        page.locator("#tag-add").click()
        expect(page.locator("#customer-tags .tag-chip")).to_have_count(2)
        assert _chips(page, "#customer-tags") == ["VIP", "科技"]
        assert page.locator("#tag-add-select option").all_inner_texts() == ["重点客户"]  # only tags not on it
        # Colours come from the tag-colours stylesheet (the CSP allows no inline style).
        vip_chip = page.locator("#customer-tags .tag-chip", has_text="VIP")
        assert vip_chip.evaluate("e => getComputedStyle(e).getPropertyValue('--tag').trim()") == "#e11d48"
        dot = vip_chip.locator(".tag-dot").evaluate("e => getComputedStyle(e).backgroundColor")
        assert dot == "rgb(225, 29, 72)"
        _shot(page, "detail-tags-zh")
        page.locator("#customer-tags .tag-chip", has_text="科技").get_by_role("button").click()
        expect(page.locator(".alert-success")).to_have_text("标签已移除。")
        assert _chips(page, "#customer-tags") == ["VIP"]

        # The timeline shows the removal once customers has the event.
        def removal_shown() -> bool:
            page.reload()
            return "移除了标签" in page.locator("#timeline").inner_text()

        wait_for(removal_shown, timeout=30)
        _shot(page, "detail-timeline-removal-zh")

        # The list: pick VIP in the filter bar (both tagged customers), then VIP + 重点客户 (one).
        page.goto(f"{platform.gateway_url}/app/customers")
        assert len(_names(page)) == 3
        page.locator("#tag-filter-open").click()
        page.locator(".tag-option", has_text="VIP").locator("input").check()
        _shot(page, "list-tag-menu-zh")
        page.locator("#tag-filter-apply").click()
        page.wait_for_url("**tag_id=**")

        def both_listed() -> bool:
            page.reload()
            return _names(page) == ["上海云帆贸易有限公司", "北京星辰科技有限公司"]

        wait_for(both_listed, timeout=30)
        assert _chips(page, "#active-tags") == ["VIP"]
        page.locator("#tag-filter-open").click()
        page.locator(".tag-option", has_text="重点客户").locator("input").check()
        page.locator("#tag-filter-apply").click()
        page.wait_for_load_state()
        assert _names(page) == ["北京星辰科技有限公司"]
        assert _chips(page, "#active-tags") == ["VIP", "重点客户"]
        expect(page.locator("#tag-filter-open .tag-count")).to_have_text("2")
        _shot(page, "list-tag-filter-zh")
        # A mass change from here takes the tag filter along (and says so).
        page.locator("#bulk-change").click()
        page.wait_for_url("**/app/customers/bulk-change**")
        expect(page.locator(".filter-chips")).to_contain_text("VIP、重点客户")
        _shot(page, "bulk-change-tags-zh")
        page.go_back()
        # Searching keeps the tags; × on a chip drops that tag only.
        page.fill("form.filters input[name=q]", "北京")
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_load_state()
        assert _names(page) == ["北京星辰科技有限公司"] and "tag_id=" in page.url
        page.locator("#active-tags .tag-chip", has_text="重点客户").locator(".tag-remove").click()
        page.wait_for_load_state()
        assert _chips(page, "#active-tags") == ["VIP"]
        page.locator("a.button.ghost", has_text="清除").click()
        page.wait_for_url("**/app/customers")
        assert len(_names(page)) == 3
        expect(page.locator("#active-tags")).to_have_count(0)

        css = page.request.get(f"{platform.gateway_url}/app/tag-colors.css?c=e11d48,zz%7D,2563eb")
        assert css.text() == ('[data-tag-color="2563eb"]{--tag:#2563eb}\n[data-tag-color="e11d48"]{--tag:#e11d48}\n')

        english = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
        en_page = english.new_page()
        try:
            _login(en_page, platform, tenant)
            en_page.goto(f"{platform.gateway_url}/app/customers?tag_id={vip['id']}&tag_id={key['id']}")
            expect(en_page.locator("#active-tags")).to_contain_text("Carrying all of:")
            assert _names(en_page) == ["北京星辰科技有限公司"]
            en_page.locator("#tag-filter-open").click()
            _shot(en_page, "list-tag-filter-en")
            en_page.goto(f"{platform.gateway_url}/app/customers/{first['id']}")
            expect(en_page.locator("#tags h2")).to_have_text("Tags")
            expect(en_page.locator("#tag-add")).to_have_text("Add tag")
            _shot(en_page, "detail-tags-en")
        finally:
            english.close()
    finally:
        context.close()
