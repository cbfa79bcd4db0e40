"""Sign-in sessions over REST against the running platform: two sign-ins make two sessions (client,
ip, user agent, the current one marked through the token's `sid`); ending one makes its refresh
token fail with invalid_grant at once while the other still refreshes; "sign out everywhere else";
an admin's "sign out everywhere"; another user's session and another tenant's are 404; missing
scope 403; every revocation audited."""

from __future__ import annotations

from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import ALL_SCOPES, TenantContext
from tests.e2e.test_login_security import NEW_PASSWORD, Browser, admin_email, create_user

LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1"


def sign_in(platform: Platform, slug: str, email: str, password: str, user_agent: str,
            ip: str = "198.51.100.20", new_password: str = "") -> dict[str, Any]:
    """The code flow as a browser with this user agent; returns the token response (with the
    refresh token). `new_password` answers a first-login password step."""
    browser = Browser(platform.gateway_url)
    browser.http.headers.update({"User-Agent": user_agent, "X-Forwarded-For": ip})
    reply = browser.sign_in(slug, email, password)
    if new_password and reply.status_code == 200:
        reply = browser.submit(reply, new_password=new_password, confirm_password=new_password)
    exchanged = browser.http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": browser.code_of(reply), "redirect_uri": browser.redirect_uri,
        "client_id": "crm-web", "code_verifier": browser.verifier,
    })
    assert exchanged.status_code == 200, exchanged.text
    return dict(exchanged.json())


def refresh(platform: Platform, token: str, user_agent: str = "refresh-test/1.0") -> httpx.Response:
    return httpx.post(f"{platform.gateway_url}/oauth/token", headers={"User-Agent": user_agent}, data={
        "grant_type": "refresh_token", "refresh_token": token, "client_id": "crm-web"})


def http(platform: Platform, access_token: str) -> httpx.Client:
    return httpx.Client(base_url=platform.gateway_url, timeout=30,
                        headers={"Authorization": f"Bearer {access_token}", "User-Agent": "sessions-test/1.0"})


def audit(tenant: TenantContext, action: str) -> list[dict[str, Any]]:
    reply = tenant.http([*ALL_SCOPES, "audit:read"]).get("/v1/audit-events", params={"action": action})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_two_sign_ins_listed_one_revoked_the_other_still_refreshes(platform: Platform, tenant: TenantContext) -> None:
    email = admin_email(tenant)
    laptop = sign_in(platform, tenant.slug, email, "demo-password-1", LAPTOP, ip="198.51.100.21")
    phone = sign_in(platform, tenant.slug, email, "demo-password-1", PHONE, ip="198.51.100.22")
    me = http(platform, laptop["access_token"])

    listed = me.get("/v1/users/me/sessions")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    mine = {i["user_agent"]: i for i in items}
    assert {LAPTOP, PHONE} <= set(mine)  # (the fixture's own sign-in is a third session)
    assert mine[LAPTOP]["current"] is True and mine[PHONE]["current"] is False
    assert [i for i in items if i["current"]] == [mine[LAPTOP]]
    assert mine[PHONE]["ip"].startswith("198.51.100.22") and mine[PHONE]["client_id"] == "crm-web"

    gone = me.delete(f"/v1/users/me/sessions/{mine[PHONE]['id']}")
    assert gone.status_code == 200 and gone.json() == {"revoked": 1}, gone.text
    refused = refresh(platform, phone["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    renewed = refresh(platform, laptop["refresh_token"], user_agent=LAPTOP)
    assert renewed.status_code == 200, renewed.text
    # The refresh moved the laptop's session forward (last use, from where) and kept it current.
    again = http(platform, renewed.json()["access_token"]).get("/v1/users/me/sessions").json()["items"]
    assert PHONE not in {i["user_agent"] for i in again}
    assert [i["current"] for i in again if i["user_agent"] == LAPTOP] == [True]
    # Ending it twice: it is no longer there.
    assert me.delete(f"/v1/users/me/sessions/{mine[PHONE]['id']}").status_code == 404

    [entry] = audit(tenant, "session.revoked")
    assert entry["details"] == {"sessions": [mine[PHONE]["id"]], "reason": "signed_out"}
    assert entry["user_agent"] == "sessions-test/1.0" and entry["target_id"] == entry["actor"]


def test_sign_out_everywhere_else_and_admin_sign_out(platform: Platform, tenant: TenantContext) -> None:
    email = admin_email(tenant)
    laptop = sign_in(platform, tenant.slug, email, "demo-password-1", LAPTOP)
    phone = sign_in(platform, tenant.slug, email, "demo-password-1", PHONE)
    me = http(platform, laptop["access_token"])
    others = me.post("/v1/users/me/sessions:revoke-others")
    assert others.status_code == 200 and others.json()["revoked"] >= 2  # the phone and the fixture's sign-in
    assert [i["user_agent"] for i in me.get("/v1/users/me/sessions").json()["items"]] == [LAPTOP]
    assert refresh(platform, phone["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(platform, laptop["refresh_token"]).status_code == 200

    # An admin signs a rep out everywhere (a lost laptop).
    rep_email = f"rep@{tenant.slug}.example.com"
    rep = create_user(tenant, rep_email)
    rep_tokens = sign_in(platform, tenant.slug, rep_email, "Temporary-pass-42", PHONE, new_password=NEW_PASSWORD)
    admin = http(platform, tenant.admin_token)
    listed = admin.get(f"/v1/users/{rep['id']}/sessions")
    assert listed.status_code == 200 and [i["user_agent"] for i in listed.json()["items"]] == [PHONE]
    assert listed.json()["items"][0]["current"] is False
    out = admin.post(f"/v1/users/{rep['id']}/sessions:revoke-all")
    assert out.status_code == 200 and out.json() == {"revoked": 1}
    assert refresh(platform, rep_tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert admin.get(f"/v1/users/{rep['id']}/sessions").json()["items"] == []
    entries = audit(tenant, "session.revoked")
    by_admin = [e for e in entries if e["target_id"] == rep["id"]]
    assert len(by_admin) == 1 and by_admin[0]["details"]["reason"] == "signed_out_by_admin"
    assert by_admin[0]["actor"] != rep["id"]


def test_other_users_and_tenants_sessions_are_404_and_scopes_checked(
    platform: Platform, tenant: TenantContext, other_tenant: TenantContext,
) -> None:
    rep_email = f"rep@{tenant.slug}.example.com"
    rep = create_user(tenant, rep_email)
    rep_tokens = sign_in(platform, tenant.slug, rep_email, "Temporary-pass-42", PHONE, new_password=NEW_PASSWORD)
    admin_session = sign_in(platform, tenant.slug, admin_email(tenant), "demo-password-1", LAPTOP)
    admin_sessions = http(platform, admin_session["access_token"]).get("/v1/users/me/sessions").json()["items"]
    admin_sid = next(i["id"] for i in admin_sessions if i["current"])

    # The rep cannot end the admin's session (another user's record: 404, not 403).
    rep_http = http(platform, rep_tokens["access_token"])
    assert rep_http.delete(f"/v1/users/me/sessions/{admin_sid}").status_code == 404
    assert rep_http.delete("/v1/users/me/sessions/not-a-session").status_code == 404
    # ...nor list or end anyone's sessions without users:manage.
    for method, path in (("GET", f"/v1/users/{rep['id']}/sessions"),
                         ("POST", f"/v1/users/{rep['id']}/sessions:revoke-all")):
        reply = rep_http.request(method, path)
        assert reply.status_code == 403, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
    # Another tenant's admin: 404 for everything of this tenant.
    other = http(platform, other_tenant.admin_token)
    assert other.delete(f"/v1/users/me/sessions/{admin_sid}").status_code == 404
    assert other.get(f"/v1/users/{rep['id']}/sessions").status_code == 404
    assert other.post(f"/v1/users/{rep['id']}/sessions:revoke-all").status_code == 404
    # A client's token has no sessions of its own.
    client = tenant.http([*ALL_SCOPES, "users:manage"])
    reply = client.get("/v1/users/me/sessions")
    assert reply.status_code == 403 and reply.json()["code"] == "user_token_required"
    # Nothing was revoked by any of that.
    assert refresh(platform, admin_session["refresh_token"]).status_code == 200
    assert refresh(platform, rep_tokens["refresh_token"]).status_code == 200
    assert audit(tenant, "session.revoked") == []
