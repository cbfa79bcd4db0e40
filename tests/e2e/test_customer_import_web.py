"""/app/customers/import in headless Chromium (zh-CN desktop, en at 390 px): the templates, the
upload with the duplicate choice, the self-refreshing progress, the check with its counts, the
column mapping corrected and checked again, every row's problems in the page's language, the
error file, the import, and its undo. Screenshots in CRM_TEST_ARTIFACTS (test-artifacts/)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from playwright.sync_api import Browser, Page, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import CHROMIUM
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_web_ui import _login, _shot

pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def _open(chromium: Browser, platform: Platform, tenant: TenantContext, locale: str, width: int) -> Page:
    context = chromium.new_context(locale=locale, viewport={"width": width, "height": 900})
    page = context.new_page()
    _login(page, platform, tenant)
    return page


def _gbk_file() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["客户名称", "联系人", "手机", "邮箱", "首次接触时间", "所属行业", "备注"])
    for n in range(60):
        name = "" if n == 5 else f"网页导入公司{n}"
        mobile = "12345" if n == 7 else ("13900000001" if n == 9 else f"1390000{n:04d}")
        writer.writerow([name, "李四", mobile, "bad@" if n == 11 else "", "2024-03-01", "IT", "备注"])
    return out.getvalue().encode("gb18030")


def _wait_for(page: Page, selector: str, timeout: float = 60_000) -> None:
    """The job pages refresh themselves every second until the job is done."""
    page.wait_for_selector(selector, timeout=timeout)


def test_import_in_chinese_on_desktop(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:
    existing = admin_http(tenant).post("/v1/customers", json={"name": "已有客户", "mobile": "13900000030"})
    assert existing.status_code == 201
    page = _open(chromium, platform, tenant, "zh-CN", 1400)
    try:
        page.goto(f"{platform.gateway_url}/app/customers")
        page.locator("#import-link").click()
        page.wait_for_url("**/app/customers/import")
        expect(page.locator("h1")).to_have_text("导入客户")
        expect(page.locator("nav [data-nav=customer_import]")).to_be_visible()
        with page.expect_download() as template:
            page.locator("#template-xlsx").click()
        assert template.value.suggested_filename == "客户导入模板.xlsx"
        _shot(page, "customer-import-start-zh")

        page.set_input_files("#import-file", {"name": "客户名单.csv", "mimeType": "text/csv",
                                              "buffer": _gbk_file()})
        page.locator("input[name=duplicate_mode][value=skip]").check()
        page.locator("#upload").click()
        _wait_for(page, "#check-result")
        expect(page.locator("#import-status")).to_have_text("已校验")
        expect(page.locator("#stat-total")).to_have_text("60")
        expect(page.locator("#stat-errors")).to_have_text("3")
        expect(page.locator("#stat-duplicates")).to_have_text("2")  # row 11 repeats row 3; row 32 is 已有客户
        expect(page.locator("#stat-ready")).to_have_text("55")
        problems = page.locator("#problems")
        expect(problems).to_contain_text("第 7 行")
        expect(problems).to_contain_text("此字段为必填项。")
        expect(problems).to_contain_text("与文件中前面的行重复")
        expect(page.locator("select[name='map.6']")).to_have_value("notes")
        _shot(page, "customer-import-checked-zh")

        with page.expect_download() as errors:
            page.locator("#error-file").click()
        rows = list(csv.reader(io.StringIO(Path(errors.value.path()).read_text(encoding="gb18030"))))
        assert rows[0][-1] == "错误" and len(rows) == 1 + 3 + 2

        page.select_option("select[name='map.6']", "")  # leave notes out
        page.locator("#recheck").click()
        _wait_for(page, "#check-result")
        expect(page.locator("select[name='map.6']")).to_have_value("")
        page.locator("#import-start").click()
        _wait_for(page, "#import-result")
        expect(page.locator("#stat-created")).to_have_text("55")
        expect(page.locator("#stat-skipped")).to_have_text("5")
        _shot(page, "customer-import-done-zh")

        page.locator("#import-undo").click()
        _wait_for(page, "#import-undone")
        expect(page.locator("#import-status")).to_have_text("已撤销")
        _shot(page, "customer-import-undone-zh")
    finally:
        page.context.close()


def test_import_in_english_on_a_phone(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Customer name", "Mobile", "Customer type", "Status"])
    for n in range(12):
        sheet.append([f"Phone Import Co {n}", f"1370000{n:04d}", "enterprise", "intent"])
    sheet.append(["No Contact Ltd", "", "", ""])
    content = io.BytesIO()
    book.save(content)
    page = _open(chromium, platform, tenant, "en-US", 390)
    try:
        page.goto(f"{platform.gateway_url}/app/customers/import")
        expect(page.locator("h1")).to_have_text("Import customers")
        _shot(page, "customer-import-start-en-390")
        page.set_input_files("#import-file", {"name": "leads.xlsx", "buffer": content.getvalue(),
                                              "mimeType": "application/vnd.openxmlformats-officedocument"
                                                          ".spreadsheetml.sheet"})
        page.locator("#upload").click()
        _wait_for(page, "#check-result")
        expect(page.locator("#stat-errors")).to_have_text("1")
        expect(page.locator("#problems")).to_contain_text("Give a mobile number or an email, or both.")
        _shot(page, "customer-import-checked-en-390")
        page.locator("#import-start").click()
        _wait_for(page, "#import-result")
        expect(page.locator("#stat-created")).to_have_text("12")
        _shot(page, "customer-import-done-en-390")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways at 390 px ({width} px)"
    finally:
        page.context.close()
