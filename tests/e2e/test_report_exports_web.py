"""Exporting a saved report from the report page in headless Chromium (docs/reporting.md, "Report
exports"): an unsaved definition only says to save it first; the saved report's Export card starts
the job, its page shows the progress and then the download, a reload resumes it; the XLSX opens with
openpyxl and carries the report's title; a bad format is refused inline; another user never sees the
export; zh-CN and en at 1280 and 390 px. Screenshots go to test-artifacts/report-exports/."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import openpyxl
from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_dashboard_web import NEW_PASSWORD, business, sign_in  # noqa: F401  (fixture)
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "report-exports"
QUERY = urlencode([("object", "customers"), ("row0", "industry"), ("m", "count"), ("m", "sum:lifetime_value"),
                   ("chart", "bar")])
NAME = "Industry overview"
JOB_URL = re.compile(r".*/app/reports/[0-9a-f-]{36}/exports/[0-9a-f-]{36}$")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def finished_download(page: Page) -> None:
    """The job's page refreshes every second until the download appears."""
    expect(page.locator("#export-download")).to_be_visible(timeout=90_000)
    expect(page.locator("#export-progress")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#export-percent")).to_have_text("100%")


def test_export_a_saved_report_from_its_page(chromium: Browser, platform: Platform, tenant: TenantContext,  # noqa: F811
                                            business: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    admin = f"admin@{tenant.slug}.example.com"
    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, platform, tenant.slug, admin)
        # Not saved yet: no export buttons, a hint to save first.
        page.goto(f"{platform.gateway_url}/app/reports/build?{QUERY}")
        expect(page.locator("#export-save-first")).to_contain_text("Save the report first")
        expect(page.locator("#report-export-form")).to_have_count(0)
        shot(page, "unsaved-en-1280")
        page.fill("#report-save input[name=name]", NAME)
        page.select_option("#report-save select[name=visibility]", "tenant")
        page.locator("#report-save button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/app/reports/[0-9a-f-]{36}$"))
        saved_url = page.url
        expect(page.locator("#report-export button")).to_have_text(["Excel (XLSX)", "CSV", "PDF"])
        shot(page, "saved-en-1280")

        # A format the page does not offer is refused inline, in the page's language.
        page.evaluate("document.querySelector('#export-csv').value = 'docx'")
        page.locator("#export-csv").click()
        page.wait_for_url(re.compile(r".*/app/reports/[0-9a-f-]{36}#report-export$"))
        expect(page.locator("#export-error")).to_have_text("Choose CSV, Excel (XLSX) or PDF.")
        expect(page.locator("[role=status].alert-success")).to_have_count(0)

        # XLSX: the job's page, then the download; a reload shows the same finished job.
        page.goto(saved_url)
        page.locator("#export-xlsx").click()
        page.wait_for_url(JOB_URL)
        job_url = page.url
        expect(page.locator("h2")).to_contain_text(f"{NAME} · Excel (XLSX)")
        finished_download(page)
        page.reload()
        finished_download(page)
        shot(page, "done-en-1280")
        with page.expect_download() as download:
            page.locator("#export-download").click()
        assert download.value.suggested_filename.endswith(".xlsx")
        saved = tmp_path / "report.xlsx"
        download.value.save_as(saved)
        book = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()))
        assert book.sheetnames[0] == NAME
        assert book.worksheets[0]["A1"].value == NAME
        assert not errors, errors
    finally:
        context.close()

    # The same admin in Chinese on a desktop: the report page and the job's page speak Chinese.
    desk = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    zh = desk.new_page()
    try:
        sign_in(zh, platform, tenant.slug, admin)
        zh.goto(saved_url)
        expect(zh.locator("#export-title")).to_have_text("导出")
        shot(zh, "saved-zh-1280")
        zh.goto(job_url)
        expect(zh.locator("h1")).to_have_text("报表导出")
        expect(zh.locator("#export-state")).to_have_text("已完成")
        shot(zh, "done-zh-1280")
    finally:
        desk.close()

    # The sales rep on a phone, in Chinese: the admin's export is not theirs; their own PDF works.
    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, accept_downloads=True)
    small = phone.new_page()
    try:
        sign_in(small, platform, tenant.slug, business["emails"]["rr"], first_time=True)
        assert small.goto(job_url).status == 404  # type: ignore[union-attr]
        assert small.goto(f"{job_url}/file").status == 404  # type: ignore[union-attr]
        small.goto(f"{platform.gateway_url}/app/reports/build?{QUERY}")
        expect(small.locator("#export-save-first")).to_be_visible()
        no_sideways_scroll(small)
        shot(small, "unsaved-zh-390")
        small.goto(saved_url)
        no_sideways_scroll(small)
        shot(small, "saved-zh-390")
        small.locator("#export-pdf").click()
        small.wait_for_url(JOB_URL)
        rep_job = small.url
        finished_download(small)
        no_sideways_scroll(small)
        shot(small, "done-zh-390")
        with small.expect_download() as download:
            small.locator("#export-download").click()
        pdf = tmp_path / "report.pdf"
        download.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF")
    finally:
        phone.close()

    # And in English on the phone.
    phone_en = chromium.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    small_en = phone_en.new_page()
    try:
        sign_in(small_en, platform, tenant.slug, business["emails"]["rr"], password=NEW_PASSWORD)
        small_en.goto(saved_url)
        no_sideways_scroll(small_en)
        shot(small_en, "saved-en-390")
        small_en.goto(rep_job)
        expect(small_en.locator("#export-state")).to_have_text("Ready")
        no_sideways_scroll(small_en)
        shot(small_en, "done-en-390")
    finally:
        phone_en.close()
