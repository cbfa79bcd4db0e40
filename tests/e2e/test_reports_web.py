"""The report builder page in headless Chromium (docs/reporting.md, "Report builder"): the template
gallery in the shell's menu, a pivot with subtotals and the grand total against the numbers the test
wrote, the ECharts chart, a click on a cell opening exactly its customers, saving a report shared
with everyone, and a sales rep opening it to see only their own customers; zh-CN and en at 1280 and
390 px. Screenshots go to test-artifacts/reports/."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_dashboard_web import business, sign_in  # noqa: F401  (fixture)
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "reports"
QUERY = urlencode([("object", "customers"), ("row0", "industry"), ("m", "count"), ("m", "sum:lifetime_value"),
                   ("chart", "bar")])


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def rows(page: Page) -> list[list[str]]:
    return [r.split("\t") for r in page.locator("#report-pivot tbody tr").all_inner_texts()]


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_report_builder_in_the_browser(chromium: Browser, platform: Platform, tenant: TenantContext,  # noqa: F811
                                       business: dict[str, Any]) -> None:  # noqa: F811
    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, platform, tenant.slug, f"admin@{tenant.slug}.example.com")
        page.locator("[data-nav=reports]").click()
        page.wait_for_url("**/app/reports")
        expect(page.locator("#report-templates [data-template]")).to_have_count(6)
        shot(page, "gallery-en-1280")
        # A template opens in the builder and runs.
        page.locator("[data-template=value_distribution_by_segment] a").click()
        page.wait_for_url(re.compile(r".*/app/reports/build\?.*template=value_distribution_by_segment"))
        expect(page.locator("#report-pivot")).to_be_visible()
        expect(page.locator("#report-chart canvas")).to_have_count(1)

        page.goto(f"{platform.gateway_url}/app/reports/build?{QUERY}")
        expect(page.locator("#report-chart canvas")).to_have_count(1)
        table = rows(page)
        assert table[0][:2] == ["IT", "3"] and table[1][:2] == ["Finance", "1"]
        assert table[-1][:2] == ["Grand total", "4"]
        assert "50,000.00" in table[1][2] and "15,800.50" in table[0][2]
        expect(page.locator("#report-pivot tr.pivot-total")).to_have_count(1)
        shot(page, "builder-en-1280-admin")
        # Two row dimensions: subtotals per industry.
        page.goto(f"{platform.gateway_url}/app/reports/build?{QUERY}&row1=owner")
        expect(page.locator("#report-pivot tr.pivot-subtotal")).to_have_count(2)
        page.goto(f"{platform.gateway_url}/app/reports/build?{QUERY}")
        # A cell opens exactly its customers.
        page.locator("#report-pivot tbody tr").first.locator("td a").first.click()
        page.wait_for_url(re.compile(r".*/app/customers\?industry=IT$"))
        expect(page.locator("#total-count")).to_have_text("3 customers")
        # A value segment has no list parameter: its cell opens the list through report_cell, with a chip.
        page.goto(f"{platform.gateway_url}/app/reports/build?" + urlencode(
            [("object", "customers"), ("row0", "value_segment"), ("m", "count"), ("chart", "table")]))
        first = rows(page)[0]
        page.locator("#report-pivot tbody tr").first.locator("td a").first.click()
        page.wait_for_url(re.compile(r".*/app/customers\?.*report_cell="))
        count = int(first[1])
        expect(page.locator("#total-count")).to_have_text(f"{count} customer" + ("" if count == 1 else "s"))
        expect(page.locator("[data-filter=report_cell]")).to_contain_text("the cell's customers")
        shot(page, "cell-customers-en-1280")
        # Tag as a row dimension (the builder offers it): one group per tag, "(empty)" for the untagged.
        page.goto(f"{platform.gateway_url}/app/reports/build?" + urlencode(
            [("object", "customers"), ("row0", "tag"), ("col", "status"), ("m", "count"), ("chart", "bar")]))
        expect(page.locator("select[name=row0] option[value=tag]")).to_have_count(1)
        assert rows(page)[-1][0] == "Grand total"
        shot(page, "builder-tag-en-1280")
        # Save it for everyone.
        page.goto(f"{platform.gateway_url}/app/reports/build?{QUERY}")
        page.fill("#report-save input[name=name]", "Industry overview")
        page.select_option("#report-save select[name=visibility]", "tenant")
        page.locator("#report-save button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/app/reports/[0-9a-f-]{36}$"))
        expect(page.locator("[role=status]")).to_contain_text("Report saved")
        saved_url = page.url
        page.goto(f"{platform.gateway_url}/app/reports")
        expect(page.locator("#saved-reports tbody tr")).to_have_count(1)
        assert not errors, errors
    finally:
        context.close()

    # The sales rep, in Chinese on a phone: the same saved report counts only their own customer.
    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    small = phone.new_page()
    try:
        sign_in(small, platform, tenant.slug, business["emails"]["rr"], first_time=True)
        small.goto(saved_url)
        expect(small.locator("h1")).to_have_text("Industry overview")
        table = rows(small)
        assert table[-1][:2] == ["总计", "1"], table
        expect(small.locator("#report-chart canvas")).to_have_count(1)
        no_sideways_scroll(small)
        shot(small, "saved-zh-390-rep")
        small.goto(f"{platform.gateway_url}/app/reports")
        expect(small.locator("h1")).to_have_text("报表")
        no_sideways_scroll(small)
        shot(small, "gallery-zh-390-rep")
    finally:
        phone.close()

    # Customer service: the money measure is left out, and says so.
    desk = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    cs = desk.new_page()
    try:
        sign_in(cs, platform, tenant.slug, business["emails"]["cs"], first_time=True)
        cs.goto(f"{platform.gateway_url}/app/reports/build?{QUERY}")
        expect(cs.locator("#report-omitted")).to_have_attribute("data-fields", "lifetime_value")
        expect(cs.locator("#report-omitted")).to_contain_text("累计消费")
        assert rows(cs)[-1][:2] == ["总计", "4"]
        shot(cs, "builder-zh-1280-service")
    finally:
        desk.close()
