"""The Orders section of the customer detail page in headless Chromium: spend figures and orders with
amounts formatted per locale (zh-CN and en); absent for a customer-service user, whose page shows no
spend at all."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_login_security import NEW_PASSWORD, create_user
from tests.e2e.test_web_ui import _login, _shot

WRITER = ["customers:read", "customers:write", "orders:read", "orders:write"]


def test_orders_section_per_locale_and_hidden_for_customer_service(
    chromium: Browser, platform: Platform, tenant: TenantContext  # noqa: F811
) -> None:
    http = tenant.http(WRITER)
    customer = http.post("/v1/customers", json={"name": "杭州西湖贸易有限公司", "mobile": "13800138123"}).json()
    today = time.strftime("%Y-%m-%d")
    for row in (
        {"external_id": "SO-2026-0001", "amount": "1200.50", "currency": "CNY", "status": "paid",
         "items": [{"sku": "T-1", "name": "龙井茶礼盒", "quantity": "2", "unit_price": "600.25"}]},
        {"external_id": "SO-2026-0002", "amount": "35000.00", "currency": "CNY", "status": "confirmed"},
        {"external_id": "SO-2026-0003", "amount": "99.90", "currency": "USD", "status": "refunded"},
        {"external_id": "CT-2026-007", "kind": "contract", "amount": "120000.00", "currency": "CNY",
         "status": "confirmed"},
    ):
        reply = http.post("/v1/orders", json={"customer_id": customer["id"], "ordered_on": today, **row})
        assert reply.status_code == 201, reply.text
    url = f"{platform.gateway_url}/app/customers/{customer['id']}"

    for locale, expected in (("zh-CN", ("¥36,200.50", "已付款", "合同", "US$99.90", "明细 1 项")),
                             ("en", ("CN¥36,200.50", "Paid", "Contract", "$99.90", "Items: 1"))):
        context = chromium.new_context(locale=locale, viewport={"width": 1400, "height": 1100})
        page = context.new_page()
        try:
            _login(page, platform, tenant)
            page.goto(url)
            section = page.locator("#orders")
            expect(section).to_be_visible()
            expect(page.locator("#annual-spend")).to_have_text(expected[0])
            expect(page.locator("#lifetime-value")).to_have_text(expected[0])
            for text in expected[1:4]:
                expect(section).to_contain_text(text)
            expect(section.locator("tbody tr")).to_have_count(4)
            expect(section.locator("tbody tr").filter(has_text="SO-2026-0001")).to_contain_text(expected[4])
            assert "built-in" not in section.inner_text()
            section.scroll_into_view_if_needed()
            _shot(page, f"customer-orders-{locale}")
        finally:
            context.close()

    # Customer service: the page has no orders section and no spend figure anywhere.
    email = f"cs@{tenant.slug}.example.com"
    create_user(tenant, email, roles=["customer_service"])
    _sign_in(platform, tenant, email)  # replaces the temporary password
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{platform.gateway_url}/app/customers")
        page.fill("#company", tenant.slug)
        page.fill("#email", email)
        page.fill("#password", NEW_PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/app/customers**")
        page.goto(url)
        expect(page.locator("h1")).to_contain_text("杭州西湖贸易有限公司")
        expect(page.locator("#orders")).to_have_count(0)
        content = page.content()
        for secret in ("36,200", "1,200.50", "1200.50", "99.90", "120,000"):
            assert secret not in content
        _shot(page, "customer-orders-hidden-customer-service-zh")
    finally:
        context.close()
