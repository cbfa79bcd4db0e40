"""/app/settings/backup in headless Chromium (docs/tenancy.md#backups-for-the-tenant-admin): an admin
backs up, watches the progress bar until the archive is ready, downloads it (a ZIP whose manifest
names the tenant); the page in en and zh-CN at 1280 and 390 px; a rep is not offered the section and
the page shows the service's refusal. Screenshots go to $CRM_TEST_ARTIFACTS/backup/."""

from __future__ import annotations

import json
import zipfile

import pytest
from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_customer_list_web import sign_in
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "backup"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(("locale", "width"), [("en-US", 1280), ("zh-CN", 390), ("zh-CN", 1280), ("en-US", 390)])
def test_an_admin_backs_up_and_downloads_from_settings(chromium: Browser, platform: Platform,  # noqa: F811
                                                       tenant: TenantContext, locale: str, width: int,
                                                       tmp_path: object) -> None:
    with admin_http(tenant) as admin:
        assert admin.post("/v1/customers", json={"name": "备份页面客户", "mobile": "13800138111"}).status_code == 201
    context = chromium.new_context(locale=locale, viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    base = platform.gateway_url
    name = f"{locale[:2]}-{width}"
    try:
        sign_in(page, platform, tenant)
        page.goto(f"{base}/app/settings")
        expect(page.locator(".settings-cards a[href='/app/settings/backup']")).to_have_count(1)
        page.goto(f"{base}/app/settings/backup")
        expect(page.locator("#no-backups")).to_be_visible()
        shot(page, f"{name}-empty")
        page.locator("#start-backup").click()
        expect(page.locator("[role=status]").first).to_have_text(
            "The backup has started." if locale == "en-US" else "备份已开始。")
        row = page.locator("tr[data-backup]")
        expect(row).to_have_count(1)
        expect(row.locator("progress")).to_be_visible()
        shot(page, f"{name}-running")
        # The page refreshes itself until the archive is ready.
        expect(page.locator("tr[data-status=succeeded]")).to_have_count(1, timeout=90_000)
        expect(row).to_contain_text("100%")
        shot(page, f"{name}-ready")
        with page.expect_download() as waiting:
            page.locator("a[data-download]").click()
        download = waiting.value
        path = download.path()
        assert download.suggested_filename.endswith(".zip")
        with zipfile.ZipFile(path) as packed:
            manifest = json.loads(packed.read("manifest.json"))
            assert manifest["tenant"]["slug"] == tenant.slug
            assert "备份页面客户".encode() in packed.read("customers/customers.jsonl")
    finally:
        context.close()
