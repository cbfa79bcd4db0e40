"""The web UI's shell over every page, in headless Chromium: a tenant admin and a sales rep visit
each /app page at 1280 px and 390 px, in zh-CN and en. Every page has the same menu for the same
user (only what their role may use), a skip link to the content, the page's language, no text
wider than the screen, no CSP violation, and a styled 404 for unknown addresses; on a phone the
menu opens from its button and closes with Escape; text colours meet WCAG AA contrast. Each page
is saved to test-artifacts/shell/ (looked at for every change of the shell)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from crm_dev.api_client import ApiClient
from crm_dev.platform import Platform
from tests.conftest import TenantContext, new_tenant, wait_for
from tests.e2e.test_access_enforcement import _sign_in
from tests.e2e.test_customer_detail_web import chromium, pytestmark  # noqa: F401  (fixture, skip marker)
from tests.e2e.test_login_security import NEW_PASSWORD, admin_http, create_user
from tests.e2e.test_web_ui import ARTIFACTS

SHOTS = ARTIFACTS / "shell"
DESKTOP, PHONE = 1280, 390
ADMIN_MENU = ["home", "customers", "value", "reports", "followups", "tags", "users", "teams", "roles", "api_clients",
              "webhooks", "audit", "settings"]
REP_MENU = ["home", "customers", "value", "reports", "followups", "tags"]
HEADINGS = {"zh-CN": {"customers": "客户", "404": "页面不存在"},
            "en": {"customers": "Customers", "404": "Page not found"}}


@dataclass
class World:
    tenant: TenantContext
    rep_email: str
    customers: list[str]
    export_id: str
    bulk_change_id: str
    import_id: str
    admin_pages: list[str] = field(default_factory=list)
    rep_pages: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def world(platform: Platform, api: ApiClient) -> World:
    """One tenant with an admin, a sales rep and what every page needs to show something: the
    rep's customers, an export, a mass change and a user import."""
    tenant = new_tenant(api)
    rep_email = f"rep@{tenant.slug}.example.com"
    create_user(tenant, rep_email, roles=["sales_rep"])
    rep_token = _sign_in(platform, tenant, rep_email)
    with httpx.Client(base_url=api.base_url, timeout=30, headers={"Authorization": f"Bearer {rep_token}"}) as rep:
        people = (("北京云帆科技有限公司", "13800138001"), ("Northwind Traders", "13800138002"))
        customers = [rep.post("/v1/customers", json={"name": name, "mobile": mobile, "industry": "IT",
                                                     "region": "华北/北京"}).json()["id"] for name, mobile in people]
    with admin_http(tenant) as admin:
        export = admin.post("/v1/exports", json={"kind": "customers"})
        assert export.status_code == 202, export.text
        bulk = admin.post("/v1/customer-bulk-changes", json={"filter": {"industry": "IT"},
                                                             "set": {"status": "intent", "reason": "shell test"}})
        assert bulk.status_code in (201, 202), bulk.text
        csv = f"Email,Display name,Roles,Team\nnew.{tenant.slug}@example.cn,Shell Test,Sales rep,\n".encode()
        imported = admin.post("/v1/imports", params={"kind": "users"}, files={"file": ("users.csv", csv, "text/csv")})
        assert imported.status_code == 201, imported.text
        wait_for(lambda: admin.get(f"/v1/exports/{export.json()['id']}").json()["status"] == "succeeded")
    world = World(tenant, rep_email, customers, export.json()["id"], bulk.json()["id"],
                  imported.json()["import"]["id"])
    one, two = customers
    shared = ["/app/customers", f"/app/customers/{one}", "/app/customers/duplicates",
              "/app/customers/merges", f"/app/customers/merge?ids={one},{two}", "/app/customers/bulk-change",
              "/app/account/security", "/app/customers/new"]
    world.admin_pages = [*shared, f"/app/customers/{one}/erase", f"/app/customer-exports/{world.export_id}",
                         f"/app/customer-bulk-changes/{world.bulk_change_id}", "/app/users", "/app/users/import",
                         f"/app/user-imports/{world.import_id}", "/app/teams", "/app/roles", "/app/roles/sales_rep",
                         "/app/api-clients", "/app/audit", "/app/settings",
                         "/app/settings/company", "/app/settings/security", "/app/settings/customers",
                         "/app/settings/fields", "/app/settings/dictionaries/region"]
    # The rep also opens an admin page by its address: refused inside the shell, with the rep's menu.
    world.rep_pages = [*shared, "/app/users"]
    return world


@dataclass
class Visit:
    page: Page
    console_errors: list[str]


Visitor = Callable[[str, str, int], Visit]


@pytest.fixture(scope="module")
def visitor(chromium: Browser, platform: Platform, world: World) -> Iterator[Visitor]:  # noqa: F811
    """A signed-in page per (role, locale, width), made on first use and reused by every page."""
    opened: dict[tuple[str, str, int], Visit] = {}
    made: list[BrowserContext] = []

    def visit(role: str, locale: str, width: int) -> Visit:
        key = (role, locale, width)
        if key not in opened:
            context = chromium.new_context(locale=locale, viewport={"width": width, "height": 900})
            made.append(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{platform.gateway_url}/app/customers")
            page.fill("#company", world.tenant.slug)
            page.fill("#email", world.rep_email if role == "rep" else f"admin@{world.tenant.slug}.example.com")
            page.fill("#password", NEW_PASSWORD if role == "rep" else "demo-password-1")
            page.locator("form button[type=submit]").click()
            page.wait_for_url("**/app/customers**")
            opened[key] = Visit(page, errors)
        return opened[key]

    yield visit
    for context in made:
        context.close()


def shot_name(role: str, locale: str, width: int, path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.removeprefix("/app").split("?")[0].lower()).strip("-") or "home"
    slug = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "id", slug)
    return f"{role}-{locale}-{width}-{slug}.png"


def menu(page: Page) -> list[str]:
    """The top-level entries of the menu, main group then admin group (sub-items left out)."""
    return page.locator("#app-nav > ul > li > a[data-nav], #app-nav [role=group] > ul > li > a[data-nav]") \
        .evaluate_all("links => links.map(a => a.dataset.nav)")


def check_page(visit: Visit, platform: Platform, role: str, locale: str, width: int, path: str) -> None:
    page = visit.page
    reply = page.goto(f"{platform.gateway_url}{path}")
    assert reply is not None
    expected_status = 403 if role == "rep" and path == "/app/users" else 200
    assert reply.status == expected_status, (path, reply.status)
    assert page.locator("html").get_attribute("lang") == locale
    # The same menu on every page, only what the role may use.
    assert menu(page) == (ADMIN_MENU if role == "admin" else REP_MENU), path
    expect(page.locator("a.skip-link[href='#main']")).to_have_count(1)
    expect(page.locator("main#main")).to_have_count(1)
    expect(page.locator("main h1").first).to_be_visible()
    # Nothing wider than the screen (the page itself never scrolls sideways).
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width, (path, width)
    body = page.locator("main").inner_text()
    assert "%(" not in body and "msgid" not in body, path  # no unfilled placeholder
    page.screenshot(path=str(SHOTS / shot_name(role, locale, width, path)), full_page=True)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
@pytest.mark.parametrize("width", [DESKTOP, PHONE])
@pytest.mark.parametrize("role", ["admin", "rep"])
def test_every_page_in_the_shell(visitor: Visitor, world: World, platform: Platform,
                                 role: str, width: int, locale: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    visit = visitor(role, locale, width)
    for path in world.admin_pages if role == "admin" else world.rep_pages:
        check_page(visit, platform, role, locale, width, path)
    page = visit.page

    # An unknown address: a styled 404 inside the shell, in the page's language.
    reply = page.goto(f"{platform.gateway_url}/app/no-such-page")
    assert reply is not None and reply.status == 404
    expect(page.locator(".error-state h1")).to_have_text(HEADINGS[locale]["404"])
    assert menu(page) == (ADMIN_MENU if role == "admin" else REP_MENU)
    page.screenshot(path=str(SHOTS / shot_name(role, locale, width, "/app/404")), full_page=True)

    if width == PHONE:
        # The menu hides behind its button; it opens over the page and closes with Escape.
        page.goto(f"{platform.gateway_url}/app/customers")
        toggle = page.locator("#menu-toggle")
        expect(toggle).to_be_visible()
        expect(page.locator("#sidebar")).to_be_hidden()
        expect(page.locator("table.customers-table thead")).to_be_hidden()  # the list is cards
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#app-nav a[data-nav=customers]")).to_be_visible()
        expect(page.locator("#sidebar")).to_have_css("transform", "none")  # the slide-in has ended
        page.screenshot(path=str(SHOTS / shot_name(role, locale, width, "/app/menu-open")))
        page.keyboard.press("Escape")
        expect(page.locator("#sidebar")).to_be_hidden()
        expect(toggle).to_be_focused()
    else:
        expect(page.locator("#menu-toggle")).to_be_hidden()
        page.goto(f"{platform.gateway_url}/app/customers")
        expect(page.locator("#app-nav a[data-nav=customers]")).to_have_attribute("aria-current", "page")
        expect(page.locator("main h1")).to_have_text(HEADINGS[locale]["customers"])
    assert not [e for e in visit.console_errors if "Content Security Policy" in e], visit.console_errors


CONTRAST = """(selectors) => {
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.5) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const sel of selectors) {
    for (const el of Array.from(document.querySelectorAll(sel)).slice(0, 3)) {
      if (!el.offsetParent) continue;
      const a = lum(parse(getComputedStyle(el).color)), b = lum(background(el));
      out.push([sel, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
    }
  }
  return out;
}"""


def test_focus_is_visible_and_text_meets_contrast(visitor: Visitor, platform: Platform) -> None:
    page = visitor("admin", "en", DESKTOP).page
    page.goto(f"{platform.gateway_url}/app/customers")
    # The first Tab lands on the skip link, which shows itself with a focus ring.
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Tab")  # the next stop, a link of the menu, has a visible outline
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    ratios = page.evaluate(CONTRAST, ["main h1", "main .muted", ".side-nav a", ".nav-heading", "th",
                                      ".button.primary", "main a", ".badge-potential", "label", ".hint",
                                      ".me-name", ".foot-links a"])
    assert ratios, "nothing measured"
    low = [(sel, round(ratio, 2)) for sel, ratio in ratios if ratio < 4.5]
    assert low == [], low
