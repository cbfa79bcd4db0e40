"""A saved segment as the object of the home dashboard and the report builder in headless Chromium
(docs/reporting.md, "Segments as the object"): picked in the dashboard's "Customers" choice, the
figures count the segment's customers and a slice opens the customer list with `segment_id`; the
report builder's customers choice runs the pivot over the segment and its counts open the list;
the segment builder offers the value segment;
en at 1280 px and zh-CN at 390 px. Screenshots go to test-artifacts/segment-objects/."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_dashboard_web import kpi, sign_in
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "segment-objects"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_segment_as_the_dashboard_and_report_object(chromium: Browser, platform: Platform,  # noqa: F811
                                                     tenant: TenantContext) -> None:
    with admin_http(tenant) as admin:
        vip = created(admin.post("/v1/tags", json={"name": "VIP"}))
        made = [created(admin.post("/v1/customers", json={"name": name, "mobile": f"1390016{n:04d}",
                                                           "industry": industry}))
                for n, (name, industry) in enumerate([("Alpha Tech", "IT"), ("Bravo Soft", "IT"),
                                                      ("Charlie Bank", "Finance")])]
        for customer in (made[0], made[2]):
            assert admin.post(f"/v1/customers/{customer['id']}/tags", json={"tag_id": vip["id"]}).status_code == 201
        segment = created(admin.post("/v1/segments", json={"name": "VIP accounts", "visibility": "shared",
                                                           "definition": {"tags": {"all": [vip["id"]]}}}))

        def counted() -> bool:
            reply = admin.get("/v1/dashboards/panels/kpis", params={"object": f"segment:{segment['id']}"})
            return [p["count"] for p in reply.json()["points"] if p["key"] == "customers"] == [2]
        wait_for(counted, timeout=60)

    context = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, platform, tenant.slug, f"admin@{tenant.slug}.example.com")
        assert kpi(page, "customers") == "3"
        page.select_option("#dash-object", f"segment:{segment['id']}")
        page.locator("#dash-apply").click()
        page.wait_for_url(re.compile(r".*object=segment%3A.*"))
        expect(page.locator("main")).to_contain_text("Segment: VIP accounts")
        assert kpi(page, "customers") == "2"
        expect(page.locator("[data-panel=industry] .chart")).to_have_attribute("data-drawn", "1")
        shot(page, "en-1280-dashboard")
        # Each slice's link (what a click on it opens) is the customer list of exactly its customers
        # in the segment.
        links = page.evaluate("JSON.parse(document.querySelector('[data-panel=industry] .panel-data')"
                              ".textContent).links")
        assert sorted(links) == sorted(f"/app/customers?industry={i}&segment_id={segment['id']}"
                                       for i in ("Finance", "IT")), links
        page.goto(platform.gateway_url + links[0])
        expect(page.locator("#total-count")).to_have_text("1 customer")

        # The report builder: the segment as the customers counted.
        page.goto(f"{platform.gateway_url}/app/reports/build?object=customers&row0=industry&m=count")
        page.select_option("#rb-segment", segment["id"])
        page.locator("#rb-run").click()
        page.wait_for_url(re.compile(rf".*segment={segment['id']}.*"))
        expect(page.locator("#report-pivot")).to_be_visible()
        rows = [r.split("\t") for r in page.locator("#report-pivot tbody tr").all_inner_texts()]
        assert rows[-1][:2] == ["Grand total", "2"]
        shot(page, "en-1280-report")
        page.locator("#report-pivot tbody tr").first.locator("td a").first.click()
        page.wait_for_url(re.compile(rf".*/app/customers\?.*segment_id={segment['id']}.*"))
        expect(page.locator("#total-count")).to_have_text("1 customer")

        # The segment builder offers the value segment: nobody has orders, so nobody is in one.
        page.goto(f"{platform.gateway_url}/app/tags/segments")
        page.locator("input[name=value_segments][value=high_value]").check()
        page.locator("#segment-preview-button").click()
        expect(page.locator("#segment-preview")).to_contain_text("0 customers are in it now")
        expect(page.locator("input[name=value_segments][value=high_value]")).to_be_checked()
        shot(page, "en-1280-segment-builder")
    finally:
        context.close()

    small = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = small.new_page()
    try:
        sign_in(page, platform, tenant.slug, f"admin@{tenant.slug}.example.com")
        page.goto(f"{platform.gateway_url}/app/dashboard?object=segment:{segment['id']}")
        expect(page.locator("main")).to_contain_text("客户分群：VIP accounts")
        assert kpi(page, "customers") == "2"
        shot(page, "zh-390-dashboard")
        page.goto(f"{platform.gateway_url}/app/reports/build?object=customers&row0=industry&m=count"
                  f"&segment={segment['id']}")
        expect(page.locator("#report-pivot")).to_be_visible()
        assert page.locator("#rb-segment").input_value() == segment["id"]
        shot(page, "zh-390-report")
    finally:
        small.close()
