"""Share links and subscriptions in headless Chromium (docs/reporting.md, "Share links",
"Subscriptions"): the admin opens "Share and subscribe" from the home dashboard, creates a
password-protected link (shown once) and a weekly subscription, sees both listed; the public page
asks for the password, then draws the charts read-only with customer names masked; a revoked link
answers the styled 410 page. zh-CN and en at 1280 and 390 px; screenshots in test-artifacts/share/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_dashboard_web import sign_in
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_orders import _eventually, _order
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "share"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
WORDS = {"en": {"share": "Share and subscribe", "create": "Create link", "open": "Open", "subscribe": "Subscribe",
                "gone": "This link was revoked"},
         "zh-CN": {"share": "分享与订阅", "create": "创建链接", "open": "打开", "subscribe": "订阅",
                   "gone": "该链接已被撤销"}}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def shop(platform: Platform, api: object) -> TenantContext:
    from tests.conftest import new_tenant

    tenant = new_tenant(api)  # type: ignore[arg-type]
    with admin_http(tenant) as admin:
        for n, (name, industry, amount) in enumerate([("Alpha Tech", "IT", "12000.00"),
                                                       ("Bravo Retail", "零售", "3000.50"),
                                                       ("Charlie Bank", "金融", "50000.00")]):
            made = admin.post("/v1/customers", json={"name": name, "mobile": f"1390013{n:04d}", "industry": industry})
            assert made.status_code == 201, made.text
            order = admin.post("/v1/orders", json=_order(made.json()["code"], f"W-{n}", amount=amount))
            assert order.status_code == 201, order.text
        _eventually(lambda: len(admin.get("/v1/dashboards/panels/top_customers").json()["points"]) == 3, seconds=60)
    return tenant


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_share_and_subscribe_pages(chromium: Browser, platform: Platform, shop: TenantContext,  # noqa: F811
                                   locale: str) -> None:
    words = WORDS[locale]
    for size, viewport in SIZES.items():
        context = chromium.new_context(locale=locale, viewport=viewport)
        page = context.new_page()
        try:
            sign_in(page, platform, shop.slug, f"admin@{shop.slug}.example.com")
            page.locator("#dashboard-share").click()
            page.wait_for_url("**/app/dashboard/share**")
            expect(page.locator("h1")).to_have_text(words["share"])
            page.fill("#link-title", f"Board {locale} {size}")
            page.fill("#link-password", "open sesame 42")
            page.locator("#link-create").click()
            url = page.locator("#share-url").input_value()
            assert "/s/" in url
            # A weekly subscription to the admin.
            page.fill("#sub-title", f"Weekly {locale} {size}")
            page.locator("fieldset.recipients input[type=checkbox]").first.check()
            page.locator("#sub-create").click()
            page.wait_for_url("**/app/dashboard/share**")
            expect(page.locator(f"[data-subscription] >> text=Weekly {locale} {size}")).to_be_visible()
            expect(page.locator(f"#link-list >> text=Board {locale} {size}")).to_be_visible()
            shot(page, f"share-page-{locale}-{size}")

            public = chromium.new_context(locale=locale, viewport=viewport).new_page()
            public.goto(url)
            expect(public.locator("#share-password")).to_be_visible()
            shot(public, f"public-password-{locale}-{size}")
            public.fill("#share-password", "open sesame 42")
            public.locator("form button[type=submit]").click()
            expect(public.locator("#share-title")).to_have_text(f"Board {locale} {size}")
            expect(public.locator('[data-panel="industry"] canvas').first).to_be_visible()
            for name in ("Alpha Tech", "Bravo Retail", "Charlie Bank"):
                assert name not in public.content()
            assert public.locator("a[href^='/app/customers']").count() == 0
            shot(public, f"public-dashboard-{locale}-{size}")

            row = page.locator(f"#link-list tr:has-text('Board {locale} {size}')")
            row.locator("button[type=submit]").click()
            page.wait_for_url("**/app/dashboard/share**")
            gone = public.goto(url)
            assert gone is not None and gone.status == 410
            expect(public.locator("h1")).to_have_text(words["gone"])
            shot(public, f"public-revoked-{locale}-{size}")
            public.context.close()
        finally:
            context.close()
