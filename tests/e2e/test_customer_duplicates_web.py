"""Duplicates in headless Chromium: the duplicates page (Scan now with the self-refreshing progress
bar, groups side by side with reasons and confidence, Review & merge links, Dismiss), and the
likely duplicates named after a save on the create and edit forms (warn) or when the save is
refused (block, with an admin's "save anyway"); zh-CN and en, desktop and 390 px."""

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
        expect(second.locator(".dup-confidence")).to_have_text("82%")
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


def test_create_and_edit_name_likely_duplicates(chromium: Browser, platform: Platform,
                                                tenant: TenantContext) -> None:
    """An exact copy typed into the create form under `warn`: saved, and the new customer's page
    names the original with links to it and to the merge screen. An edit that gives another
    customer the same phone: saved, named as a possible duplicate. Then `block`: the form keeps what
    was typed, lists the duplicates, and an admin may tick "save anyway"."""
    http = tenant.http()
    original = http.post("/v1/customers", json={"name": "北京星辰科技有限公司", "mobile": "13800138000",
                                                 "contact_person": "李雷"}).json()
    other = http.post("/v1/customers", json={"name": "天津海河贸易有限公司", "mobile": "13900000001"}).json()
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/customers/new")
        page.fill("#name", "北京星辰科技有限公司")
        page.fill("#mobile", "138 0013 8000")
        page.locator("#create-form button[type=submit]").click()
        page.wait_for_url("**/app/customers/*")
        created_id = page.url.rsplit("/", 1)[1].split("?")[0]
        assert created_id not in (original["id"], "customers")
        expect(page.locator(".alert-success")).to_contain_text("北京星辰科技有限公司")
        notice = page.locator("#dup-notice")
        expect(notice).to_contain_text("该客户与以下已有客户相似")
        [candidate] = notice.locator(".dup-candidate").all()
        expect(candidate).to_have_attribute("data-likely", "true")
        expect(candidate).to_contain_text("疑似重复")
        expect(candidate.locator(".dup-why")).to_have_text("电话相同 · 名称相同")
        expect(candidate.locator(".dup-link")).to_have_attribute("href", f"/app/customers/{original['id']}")
        merge = candidate.get_by_role("link", name="核对并合并").get_attribute("href") or ""
        assert merge == f"/app/customers/merge?ids={created_id},{original['id']}"
        _shot(page, "customer-dup-notice-zh")
        page.set_viewport_size({"width": 390, "height": 900})
        _shot(page, "customer-dup-notice-zh-390")
        page.set_viewport_size({"width": 1400, "height": 1000})
        candidate.locator(".dup-link").click()
        page.wait_for_url(f"**/app/customers/{original['id']}")
        expect(page.locator("#dup-notice")).to_have_count(0)  # only after a save that found some

        # edit: another customer gets the same phone (names disagree): saved, named as possible
        page.goto(f"{platform.gateway_url}/lang/en?next=/app/customers/{other['id']}")
        page.wait_for_url(f"**/app/customers/{other['id']}")
        page.fill("#e-mobile", "13800138000")
        page.locator("#edit-form button[type=submit]").click()
        page.wait_for_url(f"**/app/customers/{other['id']}")
        expect(page.locator(".alert-success")).to_contain_text("Changes saved.")
        candidates = page.locator("#dup-notice .dup-candidate")
        expect(candidates).to_have_count(2)
        expect(candidates.first).to_have_attribute("data-likely", "false")
        expect(candidates.first).to_contain_text("Possible duplicate")
        expect(candidates.first.locator(".dup-why")).to_have_text("Same phone")
        _shot(page, "customer-dup-notice-edit-en")

        # block: an exact copy is refused, the form keeps it and names the duplicates; an admin saves anyway
        admin = tenant.http(["customers:read", "customers:write", "customers:admin"])
        assert admin.patch("/v1/customer-settings", json={"duplicate_policy": "block"}).status_code == 200
        page.goto(f"{platform.gateway_url}/app/customers/new")
        page.fill("#name", "北京星辰科技有限公司")
        page.fill("#mobile", "13800138000")
        page.locator("#create-form button[type=submit]").click()
        expect(page.locator("#create [role=alert]")).to_contain_text("Not saved")
        expect(page.locator("#name")).to_have_value("北京星辰科技有限公司")
        blocked = page.locator("#create #dup-notice .dup-candidate[data-likely=true]")
        expect(blocked).to_have_count(2)
        expect(blocked.first.locator(".dup-merge")).to_have_count(0)  # nothing to merge before it exists
        _shot(page, "customer-dup-blocked-en")
        before = len(http.get("/v1/customers", params={"page_size": 100}).json()["items"])
        page.locator("#allow_duplicates").check()
        page.locator("#create-form button[type=submit]").click()
        page.wait_for_url("**/app/customers/*")
        expect(page.locator("#dup-notice .dup-candidate[data-likely=true]")).to_have_count(2)
        expect(page.locator("#dup-merge-all")).to_be_visible()
        assert len(http.get("/v1/customers", params={"page_size": 100}).json()["items"]) == before + 1
    finally:
        context.close()
