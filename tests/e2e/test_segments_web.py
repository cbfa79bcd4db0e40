"""The segments page in headless Chromium (zh-CN desktop, en at 390 px): the builder's preview with
count and sample, saving, the list's live count, and opening a segment as the customer list.
Screenshots go to CRM_SHOTS_DIR when set, else under the basetemp (`segments-shots/`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_lists_web import chromium  # noqa: F401 - the module's browser fixture
from tests.e2e.test_customer_tags import _apply, _settles, _tag
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("CRM_SHOTS_DIR")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        return Path(wanted)
    return tmp_path_factory.mktemp("segments-shots")


def _shot(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_segment_builder_list_and_open_as_customer_list(chromium: Browser, platform: Platform,  # noqa: F811
                                                        tenant: TenantContext, shots: Path) -> None:
    http = admin_http(tenant)
    vip, churn = _tag(http, "重点客户", "#e11d48"), _tag(http, "流失风险", "#f59e0b")
    names = [f"星河制造{i}号有限公司" for i in range(4)]
    customers = [created(http.post("/v1/customers", json={"name": n, "mobile": f"1370000420{i}",
                                                          "industry": "制造"})) for i, n in enumerate(names)]
    for c in customers:
        assert _apply(http, c, vip).status_code == 201
    assert _apply(http, customers[0], churn).status_code == 201
    _settles(http, set(names), vip)

    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/tags/segments")
        expect(page.locator("[data-section=segments]")).to_have_attribute("aria-current", "page")
        page.fill("#segment-name", "制造业重点客户")
        page.select_option("#segment-all_tags", label="重点客户")
        page.select_option("#segment-none_tags", label="流失风险")
        page.fill("input[name=industry]", "制造")
        page.locator("#segment-preview-button").click()
        expect(page.locator("#segment-preview")).to_contain_text("当前有 3 位客户")
        expect(page.locator("#segment-preview li")).to_have_count(3)
        _shot(page, shots, "segments-preview-zh-desktop")
        page.locator("#segment-save").click()
        expect(page.locator(".alert-success")).to_contain_text("客户分群已保存")
        row = page.locator("#segments tbody tr").first
        expect(row).to_contain_text("制造业重点客户")
        expect(row.locator(".segment-count")).to_have_text("3")
        expect(row).to_contain_text("不带：流失风险")
        _shot(page, shots, "segments-zh-desktop")
        row.get_by_role("link", name="在客户列表中打开").click()
        page.wait_for_url("**/app/customers?segment_id=*")
        expect(page.locator("table tbody tr")).to_have_count(3)
        expect(page.locator("#active-filters [data-filter=segment_id]")).to_contain_text("制造业重点客户")
        _shot(page, shots, "segment-as-list-zh-desktop")
    finally:
        context.close()

    phone = chromium.new_context(locale="en", viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = phone.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{platform.gateway_url}/app/tags/segments")
        expect(page.locator("h1")).to_have_text("Tags")
        expect(page.locator("#segments")).to_contain_text("制造业重点客户")
        page.locator("#segment-preview-button").click()
        expect(page.locator("#segment-preview")).to_contain_text("customers are in it now")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, f"the segments page scrolls sideways at 390 px ({width})"
        _shot(page, shots, "segments-en-390")
    finally:
        phone.close()
