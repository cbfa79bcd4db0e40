"""The customer list in headless Chromium, at 1280 and 390 px, in en and zh-CN: the total, sorting
by a column heading, the column chooser (kept in a cookie), tag chips, bulk actions on the selected
rows (add a tag; change owner / status for exactly those rows) and the create page. Screenshots go
to test-artifacts/customer-list/."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "customer-list"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, platform: Platform, tenant: TenantContext) -> None:
    page.goto(f"{platform.gateway_url}/app/customers")
    page.fill("#company", tenant.slug)
    page.fill("#email", f"admin@{tenant.slug}.example.com")
    page.fill("#password", "demo-password-1")
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/app/customers**")


def names(page: Page) -> list[str]:
    return page.locator("tbody td.card-title").all_inner_texts()


def test_list_sort_columns_tags_and_bulk_actions(chromium: Browser, platform: Platform,  # noqa: F811
                                                 tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        for i, name in enumerate(("Charlie Ltd", "Alpha Co", "Bravo Inc")):
            created(admin.post("/v1/customers", json={"name": name, "mobile": f"1390013{i:04d}", "industry": "IT"}))
        vip = created(admin.post("/v1/tags", json={"name": "VIP", "color": "#dc2626"}))
    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, platform, tenant)
        expect(page.locator("#total-count")).to_have_text("3 customers")
        # Newest first by default; the Name heading sorts A-Z, then Z-A.
        page.locator("th[data-column=name] a").click()
        expect(page.locator("th[data-column=name]")).to_have_attribute("aria-sort", "ascending")
        assert names(page) == ["Alpha Co", "Bravo Inc", "Charlie Ltd"]
        page.locator("th[data-column=name] a").click()
        expect(page.locator("th[data-column=name]")).to_have_attribute("aria-sort", "descending")
        assert names(page) == ["Charlie Ltd", "Bravo Inc", "Alpha Co"]
        shot(page, "en-1280-sorted")

        # Columns: drop Mobile, add Updated; the choice stays on the next visit.
        page.locator("#columns-open").click()
        page.uncheck("input[name=column][value=mobile]")
        page.check("input[name=column][value=updated]")
        page.locator("#columns-save").click()
        expect(page.locator("th[data-column=updated]")).to_be_visible()
        expect(page.locator("th[data-column=mobile]")).to_have_count(0)
        page.goto(f"{platform.gateway_url}/app/customers")
        expect(page.locator("th[data-column=mobile]")).to_have_count(0)

        # Select two rows, add the VIP tag: chips appear in the Tags column.
        page.locator("th[data-column=name] a").click()
        page.check("input.row-select[aria-label='Select Alpha Co']")
        page.check("input.row-select[aria-label='Select Bravo Inc']")
        page.select_option("#bulk-tag", vip["id"])
        page.locator("#bulk-tag-add").click()
        expect(page.locator("[role=status]")).to_have_text("Tag added to 2 customer(s).")

        def chips() -> bool:
            page.reload()
            return page.locator("td.tags-cell .tag-chip", has_text="VIP").count() == 2
        assert wait_for(chips, timeout=15)
        shot(page, "en-1280-tagged")

        # Select all on the page (script), then owner / status for exactly those rows.
        page.check("#select-all")
        assert page.locator("input.row-select:checked").count() == 3
        page.uncheck("input.row-select[aria-label='Select Charlie Ltd']")
        expect(page.locator("#select-all")).to_have_js_property("indeterminate", True)
        page.locator("#bulk-owner-status").click()
        page.wait_for_url(re.compile(r".*/app/customers/bulk-change\?ids=.*"))
        expect(page.locator("#bulk-count")).to_contain_text("2 customers")
        shot(page, "en-1280-bulk-change")

        # The create page, with an inline error, then back to the list.
        page.goto(f"{platform.gateway_url}/app/customers")
        page.locator("#new-customer").click()
        page.wait_for_url("**/app/customers/new")
        page.fill("#name", "Delta GmbH")
        page.fill("#mobile", "12")
        page.locator("section.create button[type=submit]").click()
        expect(page.locator("#mobile-error")).to_be_visible()
        shot(page, "en-1280-new-error")
        page.fill("#mobile", "13900139999")
        page.locator("section.create button[type=submit]").click()
        page.wait_for_url("**/app/customers")
        expect(page.locator("#total-count")).to_have_text("4 customers")

        # A phone: cards that keep their checkbox, no sideways scroll; zh-CN.
        phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        small = phone.new_page()
        try:
            sign_in(small, platform, tenant)
            expect(small.locator("#total-count")).to_have_text("4 个客户")
            assert small.evaluate("document.scrollingElement.scrollWidth") <= 390
            expect(small.locator("input.row-select").first).to_be_visible()
            expect(small.locator("thead")).to_be_hidden()
            shot(small, "zh-390-cards")
            small.goto(f"{platform.gateway_url}/app/customers/new")
            assert small.evaluate("document.scrollingElement.scrollWidth") <= 390
            shot(small, "zh-390-new")
        finally:
            phone.close()
    finally:
        context.close()
