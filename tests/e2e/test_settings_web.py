"""/app/settings in headless Chromium (1280 and 390 px, en and zh-CN): every section saves through
its service with inline field errors; dictionary entries get English and Chinese names that the
customer list then shows per language; the menu offers Settings to admins only. Screenshots go to
test-artifacts/settings/."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_customer_list_web import sign_in
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "settings"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_settings_forms_save_with_inline_errors(chromium: Browser, platform: Platform,  # noqa: F811
                                                tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        assert admin.post("/v1/customers", json={"name": "Acme", "mobile": "13800138000", "industry": "制造业",
                                                 "region": "华东/上海"}).status_code == 201
    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    base = platform.gateway_url
    try:
        sign_in(page, platform, tenant)
        # English names of the default dictionaries: no 制造业 / 华东 for an English reader.
        row = page.locator("tbody tr", has_text="Acme")
        expect(row).to_contain_text("Manufacturing")
        expect(row).to_contain_text("East China › Shanghai")

        page.locator("#app-nav a[data-nav=settings]").click()
        page.wait_for_url("**/app/settings")
        expect(page.locator(".settings-cards a")).to_have_count(8)  # with follow-ups (escalation, inbound mail)
        expect(page.locator(".settings-cards a[href='/app/followups/settings']")).to_have_count(1)
        shot(page, "en-1280-home")

        # Company: an unknown time zone cannot be chosen from the list, a blank name is refused inline.
        page.goto(f"{base}/app/settings/company")
        page.fill("#f-name", "")
        page.locator("#save").click()
        expect(page.locator("#f-name-error")).to_be_visible()
        page.fill("#f-name", "Acme Holdings")
        page.select_option("#f-time_zone", "Europe/Berlin")
        page.locator("#save").click()
        expect(page.locator("[role=status]")).to_have_text("Company settings saved.")
        expect(page.locator(".tenant-name")).to_have_text("Acme Holdings")
        shot(page, "en-1280-company")

        # Password policy: out of range, inline; then saved.
        page.goto(f"{base}/app/settings/security")
        page.fill("#f-min_length", "4")
        page.locator("#save").click()
        expect(page.locator("#f-min_length-error")).to_be_visible()
        page.fill("#f-min_length", "12")
        page.locator("#save").click()
        expect(page.locator("[role=status]")).to_have_text("Password policy saved.")

        # Customer rules: a pattern without {seq} is refused by the service, next to the field.
        page.goto(f"{base}/app/settings/customers")
        page.fill("#f-code_pattern", "C-{year}")
        page.locator("#save").click()
        expect(page.locator("#f-code_pattern-error")).to_be_visible()
        page.fill("#f-code_pattern", "ACME-{seq:04}")
        page.uncheck("input[name=transition][value='lost:potential']")
        page.locator("#save").click()
        expect(page.locator("[role=status]")).to_have_text("Customer rules saved.")
        shot(page, "en-1280-customers")

        # Custom fields: a bad key inline, then created, edited, deleted.
        page.goto(f"{base}/app/settings/fields")
        page.fill("#f-label", "Contract tier")
        page.fill("#f-key", "bad key!")
        page.locator("#field-save").click()
        expect(page.locator("#f-key-error")).to_be_visible()
        page.fill("#f-key", "tier")
        page.select_option("#f-type", "single_select")
        page.fill("#f-options", "Gold\nSilver")
        page.locator("#field-save").click()
        expect(page.locator("[role=status]")).to_have_text("Custom field Contract tier created.")
        page.get_by_role("link", name="Edit").first.click()
        page.fill("#f-label", "Tier")
        page.locator("#field-save").click()
        expect(page.locator("tbody")).to_contain_text("Tier")
        shot(page, "en-1280-fields")

        # Dictionaries: a Chinese name for a new source; a bad code marks its row.
        page.goto(f"{base}/app/settings/dictionaries/source")
        rows = page.locator("input[name^='code.']").count()
        blank = rows - 3
        page.fill(f"input[name='code.{blank}']", "bad code")
        page.fill(f"input[name='label.{blank}']", "Webinar")
        page.locator("#save").click()
        expect(page.locator(f"#e-{blank}-code")).to_be_visible()
        page.fill(f"input[name='code.{blank}']", "webinar")
        page.fill(f"input[name='label_zh.{blank}']", "网络研讨会")
        page.locator("#save").click()
        expect(page.locator("[role=status]")).to_have_text("Dictionary saved.")
        shot(page, "en-1280-dictionary")

        # Times follow the tenant's zone now (no per-user zone set).
        with admin_http(tenant) as admin:
            assert admin.get("/v1/tenant").json()["time_zone"] == "Europe/Berlin"
            source = admin.get("/v1/dictionaries/source", headers={"Accept-Language": "zh-CN"}).json()
            webinar = next(e for e in source["entries"] if e["code"] == "webinar")
            assert webinar["display_label"] == "网络研讨会" and webinar["label"] == "Webinar"

        phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        small = phone.new_page()
        try:
            sign_in(small, platform, tenant)
            expect(small.locator("tbody tr", has_text="Acme")).to_contain_text("制造业")
            for path in ("", "/company", "/security", "/customers", "/fields", "/dictionaries/region"):
                small.goto(f"{base}/app/settings{path}")
                expect(small.locator("main h1")).to_have_text("设置")
                assert small.evaluate("document.scrollingElement.scrollWidth") <= 390, path
                shot(small, f"zh-390-{path.strip('/').replace('/', '-') or 'home'}")
        finally:
            phone.close()
    finally:
        context.close()


def test_settings_are_refused_without_the_scopes(platform: Platform, tenant: TenantContext) -> None:
    """A client without users:manage / customers:admin cannot change them through the pages' operations."""
    with tenant.http(["customers:read"]) as reader:
        assert reader.patch("/v1/tenant", json={"name": "x"}).status_code == 403
        assert reader.put("/v1/dictionaries/source", json={"entries": []}).status_code == 403
        assert reader.patch("/v1/customer-settings", json={"code_pattern": "X-{seq}"}).status_code == 403
    entry = {"code": "web", "label": "Web", "label_en": "Web", "label_zh": "网站"}
    with admin_http(tenant) as admin:
        replaced = admin.put("/v1/dictionaries/source", json={"entries": [entry]},
                             headers={"Accept-Language": "en"})
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["entries"][0]["display_label"] == "Web"
        too_long = admin.put("/v1/dictionaries/source", json={"entries": [{**entry, "label_zh": "网/站"}]})
        assert too_long.status_code == 400 and too_long.json()["errors"][0]["field"] == "entries[0].label_zh"
    assert httpx.get(f"{platform.gateway_url}/v1/dictionaries/source").status_code == 401
