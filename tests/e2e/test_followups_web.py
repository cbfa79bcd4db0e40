"""The follow-up pages in headless Chromium (web/followups.py): "My follow-ups" with its buckets, the
record form on the customer page completing a task and scheduling the next one, the team view's
reschedule, and the week / month calendar; zh-CN and en, desktop and 390 px. Screenshots go to the
test artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login, _shot


def _seed(tenant: TenantContext) -> dict[str, str]:
    """A customer with four open tasks for the admin: overdue, later today, in a few days, next month."""
    now = datetime.now(UTC).replace(microsecond=0)
    with admin_http(tenant) as http:
        customer = created(http.post("/v1/customers", json={"name": "苏州工业园区精密机械有限公司",
                                                            "mobile": "13900139001"}))
        other = created(http.post("/v1/customers", json={"name": "Hangzhou Tea Trading", "mobile": "13900139002"}))
        overdue = created(http.post("/v1/followup-records", json={
            "customer_id": customer["id"], "followed_at": (now - timedelta(days=2)).isoformat(), "method": "visit",
            "content": "首次拜访，客户关注交期和售后。", "result": "interested",
            "next_followup_at": (now - timedelta(hours=3)).isoformat(), "next_method": "phone",
            "next_action": "电话确认报价"}))
        for who, delta, action in ((other, timedelta(minutes=30), "Send the brochure"),
                                   (customer, timedelta(days=3), "安排技术交流"),
                                   (other, timedelta(days=32), "Quarterly check-in")):
            created(http.post("/v1/followup-records", json={
                "customer_id": who["id"], "method": "email", "content": "Sent the catalogue.", "result":
                "needs_followup", "next_followup_at": (now + delta).isoformat(), "next_method": "online_meeting",
                "next_action": action}))
    return {"customer": customer["id"], "overdue_task": overdue["next_task_id"]}


def test_my_followups_customer_form_team_and_calendar(
    chromium: Browser, platform: Platform, tenant: TenantContext  # noqa: F811
) -> None:
    seeded = _seed(tenant)
    base = platform.gateway_url
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.locator("[data-nav=followups]").click()
        page.wait_for_url("**/app/followups")
        expect(page.locator("h1")).to_have_text("我的跟进")
        expect(page.locator("#bucket-overdue .fu-task")).to_have_count(1)
        expect(page.locator("#bucket-overdue")).to_contain_text("电话确认报价")
        expect(page.locator("#bucket-overdue")).to_contain_text("苏州工业园区精密机械有限公司")
        expect(page.locator("#bucket-overdue .badge-method")).to_have_text("电话")
        expect(page.locator(".fu-task")).to_have_count(4)
        _shot(page, "followups-mine-zh")

        # Log the overdue call on the customer page: it completes the task and schedules the next.
        page.locator("#bucket-overdue a", has_text="记录跟进").click()
        page.wait_for_url(f"**/app/customers/{seeded['customer']}?task=*")
        form = page.locator("#followup-form")
        expect(form.locator("#fu-task_id")).to_have_value(seeded["overdue_task"])
        form.locator("#fu-method").select_option("phone")
        form.locator("#fu-result").select_option("interested")
        form.locator("#log-followup").click()  # no content: refused inline
        expect(page.locator("#followup-form .error")).to_contain_text("必填")
        page.locator("#fu-content").fill("客户同意报价，\n下周签合同。")
        page.locator("#fu-next_followup_at").fill((datetime.now() + timedelta(days=5)).strftime("%Y-%m-%dT10:00"))
        page.locator("#fu-next_action").fill("上门签合同")
        page.locator("#log-followup").click()
        expect(page.locator(".alert-success")).to_contain_text("跟进已记录")
        history = page.locator("#followup-history .fu-record")
        expect(history).to_have_count(3)
        # Newest first by the time it happened (the form's time is to the minute, so not always first).
        logged = history.filter(has_text="客户同意报价")
        expect(logged).to_have_count(1)
        expect(logged.locator(".badge-result-interested")).to_have_text("有意向")
        expect(page.locator("#customer-tasks")).to_contain_text("上门签合同")
        page.locator("#followups").scroll_into_view_if_needed()
        _shot(page, "followups-customer-section-zh")

        page.goto(f"{base}/app/followups")
        expect(page.locator("#bucket-overdue .fu-task")).to_have_count(0)

        # The team view: reschedule one task.
        page.goto(f"{base}/app/followups/team")
        expect(page.locator("#team-people")).to_be_visible()
        task = page.locator(".fu-task", has_text="安排技术交流")
        task.locator("summary").click()
        task.locator("input[name=due_at]").fill((datetime.now() + timedelta(days=40)).strftime("%Y-%m-%dT09:30"))
        task.locator("button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("已更新")
        expect(page.locator("#bucket-later")).to_contain_text("安排技术交流")
        _shot(page, "followups-team-zh")

        # The overdue task's reminder fired: the bell counts it; the centre lists it; read, it goes.
        bell = page.locator(".sidebar [data-bell-count]")
        expect(bell).to_have_text("1", timeout=15_000)
        page.locator(".sidebar [data-bell]").click()
        page.wait_for_url("**/app/notifications")
        expect(page.locator("h1")).to_have_text("通知")
        expect(page.locator(".notice.is-unread")).to_have_count(1)
        expect(page.locator(".notice.is-unread")).to_contain_text("跟进到期 · 电话确认报价")
        _shot(page, "notifications-zh")
        page.locator("#mark-all-read").click()
        expect(page.locator(".notice.is-unread")).to_have_count(0)
        expect(bell).to_be_hidden()
        page.locator("#reminder-prefs input[name=email]").uncheck()
        page.locator("#reminder-prefs button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("提醒设置已保存")
        expect(page.locator("#reminder-prefs input[name=email]")).not_to_be_checked()
        expect(page.locator("#reminder-prefs input[name=in_app]")).to_be_checked()

        page.goto(f"{base}/app/followups/calendar?view=month")
        expect(page.locator(".fu-day.is-today")).to_have_count(1)
        expect(page.locator(".fu-chip").first).to_be_visible()
        _shot(page, "followups-calendar-month-zh")
    finally:
        context.close()

    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{base}/app/followups/calendar")
        expect(page.locator("h1")).to_have_text("Follow-up calendar")
        expect(page.locator(".fu-cal-head span")).to_have_count(7)
        _shot(page, "followups-calendar-week-en")
        page.goto(f"{base}/app/followups")
        expect(page.locator("#fu-summary")).to_contain_text("Overdue")
        _shot(page, "followups-mine-en")
    finally:
        context.close()

    context = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{base}/app/followups")
        expect(page.locator(".fu-task").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "followups-mine-390-zh")
        page.goto(f"{base}/app/customers/{seeded['customer']}#followups")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#followups").scroll_into_view_if_needed()
        _shot(page, "followups-customer-390-zh")
        page.goto(f"{base}/app/followups/calendar?view=month")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "followups-calendar-390-zh")
    finally:
        context.close()
