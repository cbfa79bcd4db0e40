"""Follow-ups in the web analytics, in headless Chromium: the home dashboard's follow-up cards (and
their click-through to /app/followups) and the report builder over follow-up records and feedback,
as the admin in English at 1280 px and as a sales rep in Chinese at 390 px (their own records only).
Screenshots go to test-artifacts/followup-analytics/."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_dashboard_web import business, kpi, sign_in  # noqa: F401  (fixture)
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_reports_web import no_sideways_scroll, rows
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "followup-analytics"
RECORDS_QUERY = urlencode([("object", "followup_records"), ("row0", "method"), ("m", "count"),
                           ("m", "distinct_customers"), ("chart", "bar")])
FEEDBACK_QUERY = urlencode([("object", "feedback"), ("row0", "channel"), ("m", "count"), ("m", "avg:rating"),
                            ("m", "csat"), ("chart", "table")])


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_followup_cards_and_report_objects_in_the_browser(
        chromium: Browser, platform: Platform, tenant: TenantContext, business: dict[str, Any]) -> None:  # noqa: F811
    with admin_http(tenant) as admin:
        listed = admin.get("/v1/customers", params={"page_size": 100}).json()["items"]
        rr = business["users"]["rr"]["id"]
        mine = [c for c in listed if c.get("owner_id") == rr]
        others = [c for c in listed if c.get("owner_id") != rr]
        # Three records on the admin's customers (phone, phone, visit), one by rr on rr's customer.
        for customer, method in ((others[0], "phone"), (others[1], "phone"), (others[0], "visit")):
            created(admin.post("/v1/followup-records", json={"customer_id": customer["id"], "method": method,
                                                             "content": "电话沟通", "result": "interested"}))
        created(admin.post("/v1/followup-records", json={"customer_id": mine[0]["id"], "method": "visit",
                                                         "content": "上门拜访", "result": "interested",
                                                         "followed_by": rr}))
        created(admin.post("/v1/feedback", json={"customer_id": others[0]["id"], "channel": "phone",
                                                 "category": "service", "rating": 5}))
        wait_for(lambda: [p["count"] for p in admin.get("/v1/dashboards/panels/kpis").json()["points"]
                          if p["key"] == "followups_this_month"] == [4], timeout=60)

    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        sign_in(page, platform, tenant.slug, f"admin@{tenant.slug}.example.com")
        assert kpi(page, "followups_this_month") == "4"
        assert kpi(page, "overdue_tasks") == "0"
        expect(page.locator("[data-kpi=followups_this_month]")).to_contain_text("Follow-ups this month")
        shot(page, "home-en-1280-admin")
        page.goto(f"{platform.gateway_url}/app/reports/build?{RECORDS_QUERY}")
        expect(page.locator("#rb-object")).to_have_value("followup_records")
        expect(page.locator("#report-chart canvas")).to_have_count(1)
        table = rows(page)
        # Methods by their dictionary names, not their codes.
        assert table[0][:3] == ["Phone", "2", "2"] and table[1][:3] == ["Visit", "2", "2"], table
        assert table[-1][:3] == ["Grand total", "4", "3"], table
        shot(page, "builder-records-en-1280-admin")
        # A cell opens the customers of its records.
        page.locator("#report-pivot tbody tr").first.locator("td a").first.click()
        page.wait_for_url("**/app/customers?*report_cell=*")
        expect(page.locator("#total-count")).to_have_text("2 customers")
        page.goto(f"{platform.gateway_url}/app/reports/build?{FEEDBACK_QUERY}")
        table = rows(page)
        assert table[-1][:2] == ["Grand total", "1"] and "5" in table[-1][2], table
        shot(page, "builder-feedback-en-1280-admin")
        assert not errors, errors
    finally:
        context.close()

    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    small = phone.new_page()
    try:
        sign_in(small, platform, tenant.slug, business["emails"]["rr"], first_time=True)
        assert kpi(small, "followups_this_month") == "1"
        expect(small.locator("[data-kpi=followups_this_month]")).to_contain_text("本月跟进")
        no_sideways_scroll(small)
        shot(small, "home-zh-390-rep")
        small.goto(f"{platform.gateway_url}/app/reports/build?{RECORDS_QUERY}")
        table = rows(small)
        assert table[0][:3] == ["拜访", "1", "1"] and table[-1][:3] == ["总计", "1", "1"], table
        expect(small.locator("#rb-object option[value=followup_records]")).to_have_text("跟进记录")
        no_sideways_scroll(small)
        shot(small, "builder-records-zh-390-rep")
        small.goto(f"{platform.gateway_url}/app/reports")
        small.locator("[data-template=followup_performance_by_rep] a").click()
        small.wait_for_url("**/app/reports/build?*template=followup_performance_by_rep*")
        assert rows(small)[-1][:3] == ["总计", "1", "1"]
        no_sideways_scroll(small)
        shot(small, "template-performance-zh-390-rep")
    finally:
        phone.close()
