"""The duplicates page in headless Chromium: Scan now with the self-refreshing progress bar, groups
side by side with reasons and confidence, Review & merge links, Dismiss; zh-CN and en."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_web_ui import _login, _shot

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium package is not installed")
SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def _seed(tenant: TenantContext) -> list[str]:
    http = tenant.http()
    bodies = [
        {"name": "北京星辰科技有限公司", "mobile": "13800138000", "email": "info@xingchen-tech.com",
         "contact_person": "李雷", "credit_code": "91350100M000100Y43"},
        {"name": "（北京）星辰科技股份有限公司", "mobile": "138 0013 8000", "contact_person": "李雷",
         "credit_code": "91350100m000100y43"},
        {"name": "北京星晨科技有限公司", "email": "sales@xingchen-tech.com", "contact_person": "韩梅梅"},
        {"name": "Star Tech Co., Ltd.", "email": "info@star.example", "contact_person": "Tom"},
        {"name": "Sttar Tech Inc", "email": "sales@star.example", "contact_person": "Tom"},
        {"name": "天津海河贸易有限公司", "mobile": "13900000001"},
    ]
    return [http.post("/v1/customers", json=body).json()["id"] for body in bodies]


def test_scan_review_and_dismiss(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:
    ids = _seed(tenant)
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.locator("#duplicates-link").click()
        page.wait_for_url("**/app/customers/duplicates")
        expect(page.locator("h1")).to_have_text("重复客户")
        expect(page.locator("#dup-scan-state")).to_contain_text("尚未运行过扫描")
        expect(page.locator("#dup-empty")).to_be_visible()
        page.locator("#dup-scan-now").click()
        page.wait_for_url("**/app/customers/duplicates")
        expect(page.locator("#dup-bar")).to_be_visible()
        # The page refreshes itself until the scan has finished.
        expect(page.locator("#dup-scan")).to_have_attribute("data-status", "succeeded", timeout=60_000)
        expect(page.locator("#dup-percent")).to_have_text("100%")
        expect(page.locator("#dup-scan-state")).to_contain_text("发现 2 组")
        groups = page.locator("section.dup-group")
        expect(groups).to_have_count(2)
        first = groups.filter(has_text="北京星辰科技有限公司")
        expect(first.locator(".dup-reasons")).to_contain_text("统一社会信用代码相同")
        expect(first.locator(".dup-reasons")).to_contain_text("名称相近")
        expect(first.locator("thead")).to_contain_text("北京星辰科技有限公司")
        expect(first.locator("thead")).to_contain_text("北京星晨科技有限公司")
        expect(first.locator("tbody")).to_contain_text("+8613800138000")
        merge = first.get_by_role("link", name="核对并合并")
        href = merge.get_attribute("href") or ""
        assert href.startswith("/app/customers/merge?ids=")
        assert sorted(href.split("=", 1)[1].split(",")) == sorted(ids[:3])
        _shot(page, "customer-duplicates-zh")
        page.screenshot(path=str(SHOTS / "customer-duplicates-zh.png"), full_page=True)

        # Dismiss the second group: it leaves the page with a notice.
        second = groups.filter(has_text="Star Tech Co., Ltd.")
        expect(second.locator(".dup-confidence")).to_have_text("88%")
        second.get_by_role("button", name="不是重复").click()
        page.wait_for_url("**/app/customers/duplicates")
        expect(page.locator("[role=status]")).to_contain_text("已忽略该分组")
        expect(page.locator("section.dup-group")).to_have_count(1)

        # The tenant's duplicate policy, from the same page.
        page.select_option("#duplicate_policy", "block")
        page.locator("#dup-policy button").click()
        page.wait_for_url("**/app/customers/duplicates")
        expect(page.locator("[role=status]")).to_contain_text("重复处理策略已保存")
        expect(page.locator("#duplicate_policy")).to_have_value("block")
        admin = tenant.http(["customers:read", "customers:write", "customers:admin"])
        assert admin.get("/v1/customer-settings").json()["duplicate_policy"] == "block"

        # English
        page.goto(f"{platform.gateway_url}/lang/en?next=/app/customers/duplicates")
        page.wait_for_url("**/app/customers/duplicates")
        expect(page.locator("h1")).to_have_text("Duplicate customers")
        expect(page.locator(".dup-reasons").first).to_contain_text("Same credit code")
        expect(page.get_by_role("link", name="Review & merge")).to_be_visible()
        page.screenshot(path=str(SHOTS / "customer-duplicates-en.png"), full_page=True)
    finally:
        context.close()
