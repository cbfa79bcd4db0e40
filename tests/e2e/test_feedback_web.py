"""The feedback pages in headless Chromium (web/feedback.py): the customer page's Feedback section (log
feedback, send a survey), the feedback list under /app/followups/feedback with its filters, the public
survey answer page at 390 px in the survey's language, and the satisfaction card and panels on the home
dashboard; zh-CN and en, desktop and 390 px. Screenshots go to the test artifacts."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Browser, expect

from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_login_security import admin_http
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login, _shot
from tests.mail import wait_for_mail


def test_feedback_section_list_survey_page_and_dashboard(
    chromium: Browser, platform: Platform, tenant: TenantContext  # noqa: F811
) -> None:
    address = f"feedback.web.{secrets.token_hex(3)}@example.org"
    with admin_http(tenant) as http:
        customer = created(http.post("/v1/customers", json={"name": "苏州精密机械有限公司", "mobile": "13900139101",
                                                            "email": address}))
        other = created(http.post("/v1/customers", json={"name": "Hangzhou Tea Trading", "mobile": "13900139102"}))
        created(http.post("/v1/feedback", json={"customer_id": other["id"], "channel": "online_review",
                                                "category": "price", "rating": 2,
                                                "text": "The product broke after two weeks, very disappointing."}))
    base = platform.gateway_url
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _login(page, platform, tenant)
        page.goto(f"{base}/app/customers/{customer['id']}#feedback")
        section = page.locator("#feedback")
        expect(section.locator("h2")).to_have_text("客户反馈")
        expect(section).to_contain_text("暂无反馈")
        form = page.locator("#feedback-form")
        form.locator("#fb-channel").select_option("phone")
        form.locator("#fb-category").select_option("service")
        form.locator("#fb-rating").select_option("5")
        form.locator("#fb-text").fill("产品质量很好，我们很满意。")
        form.locator("button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("反馈已记录")
        item = page.locator("#customer-feedback .fb-item")
        expect(item).to_have_count(1)
        expect(item.locator(".fb-positive")).to_contain_text("正面")
        expect(item.locator(".fb-stars")).to_have_text("★★★★★")
        page.locator("#survey-form #sv-kind").select_option("csat")
        page.locator("#survey-form #sv-language").select_option("zh-CN")
        page.locator("#survey-form button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("问卷已发送")
        expect(page.locator(".fb-surveys")).to_contain_text("已发送")
        page.locator("#feedback").scroll_into_view_if_needed()
        _shot(page, "feedback-customer-zh")

        # The list under Follow-ups, filtered.
        page.goto(f"{base}/app/followups/feedback")
        expect(page.locator("[data-tab=feedback]")).to_have_class(re.compile("active"))
        expect(page.locator("#feedback-list .fb-item")).to_have_count(2)
        page.locator("#f-sentiment").select_option("negative")
        page.locator("#feedback-filters button[type=submit]").click()
        expect(page.locator("#feedback-list .fb-item")).to_have_count(1)
        expect(page.locator("#feedback-list")).to_contain_text("Hangzhou Tea Trading")
        _shot(page, "feedback-list-zh")

        # English, desktop, then 390 px.
        page.goto(f"{base}/lang/en?next=/app/followups/feedback")
        expect(page.locator("#feedback-list .fb-item")).to_have_count(2)
        expect(page.locator("#feedback-list")).to_contain_text("Positive")
        _shot(page, "feedback-list-en")
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "feedback-list-en-390")
        page.goto(f"{base}/app/customers/{customer['id']}#feedback")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#feedback").screenshot(path=str(_path("feedback-customer-en-390")))
        page.goto(f"{base}/lang/zh-CN?next=/app/followups/feedback")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "feedback-list-zh-390")

        # The home dashboard: the satisfaction card, and the CSAT panel added from the catalogue.
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.goto(f"{base}/app/dashboard")
        expect(page.locator("[data-kpi=csat], .kpi", has_text="满意度")).not_to_have_count(0)
        _shot(page, "feedback-dashboard-zh")
    finally:
        context.close()

    # The public answer page: no sign-in, the survey's language, 390 px.
    mail = wait_for_mail(platform.mail_dir, address)[0]
    link = re.search(re.escape(base) + r"/survey/\S+", mail.text)
    assert link, mail.text
    phone = chromium.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = phone.new_page()
    try:
        page.goto(link.group(0))
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("h1")).to_have_text("您对我们的产品和服务满意吗？")
        expect(page.locator(".survey-choice")).to_have_count(5)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "survey-answer-zh-390")
        page.locator(".survey-choice", has_text="4").click()
        page.locator("#comment").fill("服务不错，希望交货再快一点。")
        page.locator("form.survey-form button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("谢谢！")
        _shot(page, "survey-thanks-zh-390")
        page.goto(link.group(0))
        expect(page.locator("h1")).to_have_text("已回答")
    finally:
        phone.close()
    with admin_http(tenant) as http:
        answers = http.get("/v1/feedback", params={"customer_id": customer["id"], "channel": "survey"}).json()
        assert [(f["rating"], f["survey_kind"]) for f in answers["items"]] == [(4, "csat")]
        nps = created(http.post("/v1/surveys", json={"customer_id": customer["id"], "kind": "nps",
                                                     "language": "en"}))
    assert nps["status"] == "sent"
    mail = wait_for_mail(platform.mail_dir, address, count=2)[-1]
    link = re.search(re.escape(base) + r"/survey/\S+", mail.text)
    assert link
    phone = chromium.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = phone.new_page()
    try:
        page.goto(link.group(0))
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator(".survey-choice")).to_have_count(11)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _shot(page, "survey-answer-en-390")
    finally:
        phone.close()


def _path(name: str) -> object:
    from tests.e2e.test_web_ui import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
