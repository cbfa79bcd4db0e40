"""People by name in the customer pages, in headless Chromium (zh-CN and en): the owner column and
owner filter on the list, the owner select on the create and edit forms (only users the viewer may
assign; the current owner kept even when disabled), the mass-change owner select, and the timeline
naming who created a follow-up task, in the tenant's time zone unless the user chose another.
Screenshots in /tmp/people-shots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from crm_dev.platform import Platform
from tests.conftest import TenantContext, wait_for
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customer_detail_web import CHROMIUM
from tests.e2e.test_customer_owners import admin_id, owner_ids, set_user
from tests.e2e.test_login_security import admin_http, create_user
from tests.e2e.test_roles_teams import created
from tests.e2e.test_web_ui import _login

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed")
SHOTS = Path("/tmp/people-shots")
TENANT_ZONE = "America/New_York"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_page(chromium: Browser, platform: Platform, tenant: TenantContext, locale: str) -> Page:
    context = chromium.new_context(locale=locale, viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    _login(page, platform, tenant)
    return page


def zone_abbreviation(name: str) -> str:
    return datetime.now(ZoneInfo(name)).strftime("%Z")


def test_owners_by_name_pickers_and_timeline(chromium: Browser, platform: Platform, tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    me = admin_id(admin)
    set_user(admin, me, display_name="张伟")
    assert admin.patch("/v1/tenant", json={"time_zone": TENANT_ZONE}).status_code == 200
    email = f"wangfang@{tenant.slug}.example.com"
    wang = create_user(tenant, email, display_name="王芳", roles=["sales_rep"])
    wait_for(lambda: wang["id"] in owner_ids(admin))
    ours = created(admin.post("/v1/customers", json={"name": "星辰科技", "mobile": "13800138081"}))
    hers = created(admin.post("/v1/customers", json={"name": "云杉教育", "mobile": "13800138082",
                                                      "owner_id": wang["id"]}))
    # 王芳 signs in and creates a follow-up task on her customer: the timeline names her.
    with httpx.Client(base_url=platform.gateway_url, timeout=30,
                      headers={"Authorization": f"Bearer {_sign_in(platform, tenant, email)}"}) as wang_http:
        created(wang_http.post("/v1/followup-tasks", json={"customer_id": hers["id"], "title": "上门拜访",
                                                           "due_at": "2030-01-01T08:00:00Z"}))
    wait_for(lambda: any(e["kind"] == "task_created" and e["actor_name"] == "王芳"
                         for e in admin.get(f"/v1/customers/{hers['id']}/timeline").json()["items"]))

    page = open_page(chromium, platform, tenant, "zh-CN")
    try:
        # The list: an owner column by name, and an owner filter.
        page.goto(f"{platform.gateway_url}/app/customers")
        rows = page.locator("tbody tr")
        expect(page.locator("thead")).to_contain_text("负责人")
        expect(rows.filter(has_text="星辰科技").locator(".owner-cell")).to_have_text("张伟")
        expect(rows.filter(has_text="云杉教育").locator(".owner-cell")).to_have_text("王芳")
        # Times on the list and the detail page are the tenant's wall clock, like the timeline's.
        tenant_time = datetime.fromisoformat(hers["created_at"].replace("Z", "+00:00")).astimezone(
            ZoneInfo(TENANT_ZONE)).strftime("%Y-%m-%d %H:%M")
        expect(rows.filter(has_text="云杉教育").locator("td.muted.nowrap")).to_have_text(tenant_time)
        expect(page.locator("#owner-filter option")).to_have_text(["全部负责人", "王芳", "张伟（我）"])
        shot(page, "customers-list-owners-zh")
        # The create page offers the same people, the viewer first chosen.
        page.goto(f"{platform.gateway_url}/app/customers/new")
        expect(page.locator("#owner_id option:checked")).to_have_text("张伟（我）")
        page.goto(f"{platform.gateway_url}/app/customers")
        page.select_option("#owner-filter", wang["id"])
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url(f"**owner_id={wang['id']}**")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("云杉教育")
        expect(page.locator("#owner-filter option:checked")).to_have_text("王芳")
        shot(page, "customers-list-owner-filter-zh")

        # Create a customer for 王芳 from the form.
        page.goto(f"{platform.gateway_url}/app/customers/new")
        page.fill("#name", "北辰物流")
        page.fill("#mobile", "13800138083")
        page.select_option("#owner_id", wang["id"])
        page.locator("section.create button[type=submit]").click()
        page.wait_for_url("**/app/customers")
        expect(rows.filter(has_text="北辰物流").locator(".owner-cell")).to_have_text("王芳")

        # The detail page: the owner by name, the timeline's creator and the tenant's time zone.
        page.goto(f"{platform.gateway_url}/app/customers/{hers['id']}")
        expect(page.locator("#owner-name")).to_have_text("王芳")
        expect(page.locator("#created-by")).to_contain_text(tenant_time)
        task = page.locator("#timeline li[data-kind=task_created]")
        expect(task).to_contain_text("王芳 新建了跟进任务")
        assert task.locator("time").get_attribute("title").endswith(zone_abbreviation(TENANT_ZONE))
        shot(page, "customer-detail-owner-timeline-zh")

        # The edit form: reassign ours to 王芳; the timeline names both owners.
        page.goto(f"{platform.gateway_url}/app/customers/{ours['id']}")
        expect(page.locator("#e-owner_id option:checked")).to_have_text("张伟（我）")
        page.select_option("#e-owner_id", wang["id"])
        page.locator("form[action$='/edit'] button[type=submit]").click()
        page.wait_for_url(f"**/app/customers/{ours['id']}")
        expect(page.locator("#owner-name")).to_have_text("王芳")
        expect(page.locator("#created-by")).to_contain_text("· 张伟")
        expect(page.locator("#timeline li[data-kind=owner_changed]")).to_contain_text("负责人: 张伟 → 王芳")
        shot(page, "customer-detail-edit-owner-zh")
    finally:
        page.context.close()

    # 王芳 is disabled: no longer offered, yet her customers' forms still show her as the owner.
    set_user(admin, wang["id"], disabled=True)
    wait_for(lambda: wang["id"] not in owner_ids(admin))
    page = open_page(chromium, platform, tenant, "en-US")
    try:
        # The user's own time zone (account page) wins over the tenant's, at once.
        page.goto(f"{platform.gateway_url}/app/account/security")
        page.select_option("#pref-zone", "Europe/London")
        page.locator("#preferences button[type=submit]").click()
        expect(page.locator("#preferences")).to_contain_text("Europe/London (UTC+")
        page.goto(f"{platform.gateway_url}/app/customers/{hers['id']}")
        expect(page.locator("#e-owner_id option:checked")).to_have_text("王芳")
        expect(page.locator("#e-owner_id option")).to_have_text(["王芳", "张伟 (me)"])
        task = page.locator("#timeline li[data-kind=task_created]")
        expect(task).to_contain_text("王芳 created a follow-up task")
        assert task.locator("time").get_attribute("title").endswith(zone_abbreviation("Europe/London"))
        shot(page, "customer-detail-disabled-owner-en")
        page.goto(f"{platform.gateway_url}/app/customers")
        expect(page.locator("#owner-filter option")).to_have_text(["All owners", "张伟 (me)"])
        page.goto(f"{platform.gateway_url}/app/customers/bulk-change")
        expect(page.locator("#owner option")).to_have_text(["张伟 (me)"])
        shot(page, "bulk-change-owner-en")
    finally:
        page.context.close()
