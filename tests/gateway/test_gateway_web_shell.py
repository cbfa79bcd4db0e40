"""The web UI's shell without a browser: one menu defined as data and filtered by the token's
scopes, error pages for browsers (problem+json for everyone else, and always on the API's paths),
the start page redirect and the security headers every page carries."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey
from starlette.responses import Response

from crm_gateway.i18n import N_
from crm_gateway.web import nav
from crm_gateway.web.nav import ADMIN, MAIN, NavEntry
from crm_gateway.web.session import SESSION_COOKIE, WebCookies, WebSession
from tests.gateway.gateway_testkit import assert_problem, make_token

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
ADMIN_SCOPES = "customers:read customers:write users:manage roles:manage clients:manage audit:read"
REP_SCOPES = "customers:read customers:write tags:read followups:read followups:write orders:read"


def sign_in(client: TestClient, key: ECKey, scopes: str, roles: list[str]) -> None:
    """Puts a session cookie for a user with these scopes in the client, as /auth/callback would."""
    session = WebSession(token=make_token(key, scope=scopes, roles=roles), expires_at=int(time.time()) + 600,
                         tenant_name="Acme", user_name="Wang Fang", roles=roles)
    cookies: WebCookies = client.app.state.web_cookies  # type: ignore[attr-defined]
    response = Response()
    cookies.write_session(response, session)
    value = response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    client.cookies.set(SESSION_COOKIE, value)


def keys(groups: dict[str, list[nav.NavLink]], group: str) -> list[str]:
    return [link.key for link in groups[group]]


def test_the_menu_shows_what_the_scopes_allow() -> None:
    rep = nav.navigation("/app/customers", REP_SCOPES.split(), ["sales_rep"], "en")
    assert keys(rep, MAIN) == ["home", "customers", "followups", "tags"] and keys(rep, ADMIN) == []
    admin = nav.navigation("/app/audit", ADMIN_SCOPES.split(), ["tenant_admin"], "zh-CN")
    assert keys(admin, ADMIN) == ["users", "teams", "roles", "api_clients", "audit", "settings"]
    assert [link.label for link in admin[ADMIN]][-2:] == ["审计日志", "设置"]
    # Settings shows for any one of its sections' scopes (NavEntry.any_scope).
    assert "settings" in keys(nav.navigation("/app", ["customers:admin"], [], "en"), ADMIN)
    assert "settings" not in keys(nav.navigation("/app", ["customers:read"], [], "en"), ADMIN)
    assert [link.key for link in admin[ADMIN] if link.active] == ["audit"]
    # Home is every signed-in user's (its panels say what the role may not see).
    assert keys(nav.navigation("/app/customers", [], [], "en"), MAIN) == ["home"]
    assert keys(nav.navigation("/app/customers", [], [], "en"), ADMIN) == []


def test_the_current_entry_is_the_longest_path_prefix() -> None:
    assert nav.current_key("/app/customers") == "customers"
    assert nav.current_key("/app/customers/0190-abc") == "customers"
    assert nav.current_key("/app/customers/merges") == "merges"
    assert nav.current_key("/app/customer-exports/42") == "customers"
    assert nav.current_key("/app/users/import") == "users"
    assert nav.current_key("/app/user-imports/7") == "users"
    assert nav.current_key("/app/customersx") is None  # whole segments only
    assert nav.current_key("/app/account/security") is None
    assert nav.current_key("/app/dashboard") == "home"
    # A section's sub-items appear while it is open, not elsewhere.
    open_section = nav.navigation("/app/customers/merges", ["customers:read"], [], "en")[MAIN][1]
    assert open_section.open and [c.key for c in open_section.children] == ["duplicates", "merges"]
    assert [c.key for c in open_section.children if c.active] == ["merges"]
    # Importing needs customers:write (the service's rule): a writer gets the entry under Customers.
    importing = nav.navigation("/app/customers/import/42", ["customers:read", "customers:write"], [], "en")[MAIN][1]
    assert [c.key for c in importing.children] == ["duplicates", "merges", "customer_import"]
    assert [c.key for c in importing.children if c.active] == ["customer_import"]
    elsewhere = nav.navigation("/app/users", ["customers:read", "users:manage"], [], "en")[MAIN][1]
    assert not elsewhere.open and elsewhere.children == ()


def test_a_new_entry_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = NavEntry("reports", "/app/reports", N_("Reports"), scope="reports:read", icon="reports")
    monkeypatch.setattr(nav, "NAV", (*nav.NAV, entry))
    assert "reports" in keys(nav.navigation("/app/reports/x", ["reports:read"], [], "en"), MAIN)
    assert "reports" not in keys(nav.navigation("/app/reports", ["customers:read"], [], "en"), MAIN)
    role_only = NavEntry("settings", "/app/settings", N_("Settings"), ADMIN, role="tenant_admin")
    monkeypatch.setattr(nav, "NAV", (*nav.NAV, role_only))
    assert "settings" in keys(nav.navigation("/app", [], ["tenant_admin"], "en"), ADMIN)
    assert "settings" not in keys(nav.navigation("/app", [], ["sales_rep"], "en"), ADMIN)


def test_every_top_level_entry_has_its_own_drawn_icon() -> None:
    """A person finds a menu entry by its symbol as much as by its word: no two top-level entries
    share one, and each names a symbol the icon macro draws (an unknown name falls back to a dot)."""
    icons = (Path(nav.__file__).parent / "templates" / "_icons.html").read_text()
    top = [entry for entry in nav.NAV if entry.parent is None]
    assert len({entry.icon for entry in top}) == len(top)
    for entry in top:
        assert f'name == "{entry.icon}"' in icons, entry.key


@pytest.mark.parametrize("path", ["/", "/app"])
def test_the_start_page_is_the_home_dashboard(client: TestClient, path: str) -> None:
    reply = client.get(path, follow_redirects=False)
    assert reply.status_code == 302 and reply.headers["location"] == "/app/dashboard"


def test_unknown_pages_are_styled_404s_for_browsers(client: TestClient) -> None:
    reply = client.get("/app/no-such-page", headers={**HTML, "Accept-Language": "zh-CN"})
    assert reply.status_code == 404 and reply.headers["content-type"].startswith("text/html")
    assert "页面不存在" in reply.text and 'class="error-state"' in reply.text
    assert 'href="#main"' in reply.text  # the skip link
    csp = reply.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # Signed out: no menu. Not an /app path: still a page for a browser.
    assert 'id="app-nav"' not in reply.text
    english = client.get("/no-such-page", headers={**HTML, "Accept-Language": "en"})
    assert english.status_code == 404 and "Page not found" in english.text


def test_signed_in_404_is_inside_the_shell_with_the_users_menu(client: TestClient, signing_key: ECKey) -> None:
    sign_in(client, signing_key, REP_SCOPES, ["sales_rep"])
    reply = client.get("/app/nothing/here", headers={**HTML, "Accept-Language": "en"})
    assert reply.status_code == 404
    assert 'id="app-nav"' in reply.text and 'data-nav="customers"' in reply.text
    assert 'data-nav="users"' not in reply.text and "Administration" not in reply.text
    assert "Wang Fang" in reply.text and "Acme" in reply.text
    sign_in(client, signing_key, ADMIN_SCOPES, ["tenant_admin"])
    admin = client.get("/app/nothing/here", headers=HTML)
    for key in ("customers", "users", "teams", "roles", "api_clients", "audit"):
        assert f'data-nav="{key}"' in admin.text, key


def test_other_errors_are_pages_too_and_keep_their_headers(client: TestClient) -> None:
    reply = client.delete("/app/customers", headers=HTML)
    assert reply.status_code == 405 and reply.headers["content-type"].startswith("text/html")
    assert "GET" in reply.headers["allow"] and "Method not allowed" in reply.text


@pytest.mark.parametrize("path", ["/v1/nothing-here", "/oauth/nothing", "/.well-known/nothing", "/v1"])
def test_the_api_always_answers_problem_json(client: TestClient, path: str) -> None:
    assert_problem(client.get(path, headers=HTML), 404, "not_found")


def test_api_clients_get_problem_json_everywhere(client: TestClient) -> None:
    assert_problem(client.get("/app/no-such-page"), 404, "not_found")
    assert_problem(client.get("/app/no-such-page", headers={"Accept": "application/json"}), 404, "not_found")


def test_static_files_carry_the_shell_script(client: TestClient) -> None:
    script = client.get("/static/shell.js")
    assert script.status_code == 200 and "menu-toggle" in script.text
