"""The follow-up rules page and the cadence SLA table in headless Chromium (web/followup_rules.py):
a manager creates a recurring cadence and an automation rule through the forms, disables and
deletes them; the team page shows the SLA per rep and team; zh-CN and en, desktop and 390 px.
Screenshots go to the test artifacts."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login, _shot


def _seed(tenant: TenantContext) -> dict[str, str]:
    """Tags, a one-shot cadence whose task for the admin's customer is done (the SLA has a line)."""
    with admin_http(tenant) as http:
        vip = created(http.post("/v1/tags", json={"name": "高价值客户"}))
        created(http.post("/v1/tags", json={"name": "待成交"}))
        rule = created(http.post("/v1/cadence-rules", json={"tag_id": vip["id"], "due_in_days": 30,
                                                            "title": "流失风险：30天内联系", "escalate_after_days": 3}))
        customer = created(http.post("/v1/customers", json={"name": "苏州工业园区精密机械有限公司",
                                                            "mobile": "13900139011"}))
        assert http.post(f"/v1/customers/{customer['id']}/tags", json={"tag_id": vip["id"]}).status_code in (200, 201)
        task = wait_for(lambda: [t for t in http.get("/v1/followup-tasks", params={
            "customer_id": customer["id"]}).json()["items"] if t["cadence_rule_id"] == rule["id"]], timeout=30)[0]
        assert http.post(f"/v1/followup-tasks/{task['id']}:complete").status_code == 200
    return {"rule": rule["id"]}


def test_rules_page_and_team_sla(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:  # noqa: F811
    _seed(tenant)
    base = platform.gateway_url
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{base}/app/followups/team")
        expect(page.locator("#team-sla")).to_be_visible()
        expect(page.locator("#team-sla .fu-sla-overall")).to_contain_text("100%")
        _shot(page, "followup-sla-team-zh")

        page.locator(".fu-tabs [data-tab=rules]").click()
        page.wait_for_url("**/app/followups/rules")
        expect(page.locator("h1")).to_have_text("跟进规则")
        expect(page.locator("#cadence-rules tbody tr")).to_have_count(1)
        # A quarterly cadence through the form.
        page.locator("#cadence-rules summary").click()
        page.fill("#cad-title", "季度拜访")
        page.locator("#cad-tag").select_option(label="高价值客户")
        page.locator("#cad-recurrence").select_option("quarterly")
        page.fill("#cad-days", "14")
        page.fill("#cad-escalate", "5")
        page.locator("#cadence-form button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("跟进节奏规则已创建")
        quarterly = page.locator("#cadence-rules tbody tr", has_text="季度拜访")
        expect(quarterly).to_contain_text("每季度")
        expect(quarterly).to_contain_text("周期性")
        # A bad custom RRULE is refused with the reason.
        page.locator("#cadence-rules summary").click()
        page.fill("#cad-title", "错误规则")
        page.locator("#cad-recurrence").select_option("custom")
        page.fill("#cad-rrule", "FREQ=SECONDLY")
        page.locator("#cadence-form button[type=submit]").click()
        expect(page.locator("#rules-error")).to_be_visible()
        expect(page.locator("#cadence-rules tbody tr", has_text="错误规则")).to_have_count(0)
        # Automation: a signed contract means won.
        page.locator("#automation-rules summary").click()
        page.fill("#auto-name", "签订合同即成交")
        page.locator("#auto-trigger").select_option("order_recorded")
        page.locator("#auto-kind").select_option("contract")
        page.locator("#auto-action").select_option("set_status")
        page.locator("#auto-status").select_option("won")
        page.fill("#auto-reason", "contract signed")
        _shot(page, "followup-rules-form-zh")
        page.locator("#automation-form button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("自动化规则已创建")
        contract = page.locator("#automation-rules tbody tr", has_text="签订合同即成交")
        expect(contract).to_contain_text("录入订单，类型为：合同")
        expect(contract).to_contain_text("成交")
        page.locator("#automation-rules summary").click()
        page.fill("#auto-name", "报价后标记待成交")
        page.locator("#auto-trigger").select_option("record_result")
        page.locator("#auto-action").select_option("add_tag")
        page.locator("#auto-tag").select_option(label="待成交")
        page.locator("#automation-form button[type=submit]").click()
        expect(page.locator("#automation-rules tbody tr")).to_have_count(2)
        # Disable and delete.
        quarterly.locator("button[value=disable]").click()
        expect(page.locator("#cadence-rules tbody tr.fr-off", has_text="季度拜访")).to_have_count(1)
        page.locator("#automation-rules tbody tr", has_text="报价后标记待成交").locator("button[value=delete]").click()
        expect(page.locator("#automation-rules tbody tr")).to_have_count(1)
        _shot(page, "followup-rules-zh")
    finally:
        context.close()

    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{base}/app/followups/rules")
        expect(page.locator("h1")).to_have_text("Follow-up rules")
        expect(page.locator("#cadence-rules")).to_contain_text("Every quarter")
        _shot(page, "followup-rules-en")
        page.goto(f"{base}/app/followups/team")
        expect(page.locator("#team-sla")).to_contain_text("On-time share")
        _shot(page, "followup-sla-team-en")
    finally:
        context.close()

    for locale in ("zh-CN", "en-US"):
        context = chromium.new_context(locale=locale, viewport={"width": 390, "height": 844}, device_scale_factor=2)
        page = context.new_page()
        try:
            _login(page, platform, tenant)
            page.goto(f"{base}/app/followups/rules")
            expect(page.locator("#automation-rules")).to_be_visible()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 392, f"the rules page scrolls sideways at 390 px ({width})"
            _shot(page, f"followup-rules-390-{locale}")
            page.goto(f"{base}/app/followups/team")
            expect(page.locator("#team-sla")).to_be_visible()
            _shot(page, f"followup-sla-team-390-{locale}")
        finally:
            context.close()
