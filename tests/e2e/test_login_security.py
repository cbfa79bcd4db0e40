"""User security over HTTP against the running platform: lockout after 5 failures (and the same
answer for unknown emails), the first-login password change before any code is issued, TOTP
required once enrolled (real codes from pyotp; wrong and replayed codes refused), and the REST
endpoints for the password policy, the own password change and an admin's reset."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from crm_dev.api_client import _FormParser, pkce_pair
from crm_dev.platform import Platform
from tests.conftest import TenantContext
from tests.e2e.test_isolation import _identity_signed

NEW_PASSWORD = "Brand-new-lantern-8"


def form_of(page: httpx.Response) -> tuple[str, dict[str, str]]:
    parser = _FormParser()
    parser.feed(page.text)
    return parser.action or "/oauth/authorize", dict(parser.inputs)


class Browser:
    """An HTTP client doing what a browser does on the authorize pages (cookies included)."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.redirect_uri = f"{base_url}/auth/callback"
        self.verifier, challenge = pkce_pair()
        self.state = secrets.token_urlsafe(8)
        self.params = {
            "response_type": "code", "client_id": "crm-web", "redirect_uri": self.redirect_uri,
            "code_challenge": challenge, "code_challenge_method": "S256", "state": self.state,
        }

    def sign_in(self, slug: str, email: str, password: str) -> httpx.Response:
        page = self.http.get("/oauth/authorize", params=self.params)
        action, fields = form_of(page)
        fields.update(company=slug, email=email, password=password)
        return self.http.post(action, data=fields)

    def submit(self, page: httpx.Response, **values: str) -> httpx.Response:
        action, fields = form_of(page)
        fields.update(values)
        return self.http.post(action, data=fields)

    def code_of(self, reply: httpx.Response) -> str:
        assert reply.status_code == 302, reply.text[:500]
        query = parse_qs(urlparse(reply.headers["location"]).query)
        assert query["state"] == [self.state]
        return query["code"][0]

    def token(self, reply: httpx.Response) -> str:
        exchanged = self.http.post("/oauth/token", data={
            "grant_type": "authorization_code", "code": self.code_of(reply), "redirect_uri": self.redirect_uri,
            "client_id": "crm-web", "code_verifier": self.verifier,
        })
        assert exchanged.status_code == 200, exchanged.text
        return str(exchanged.json()["access_token"])


def admin_email(tenant: TenantContext) -> str:
    return f"admin@{tenant.slug}.example.com"


def admin_http(tenant: TenantContext) -> httpx.Client:
    return httpx.Client(base_url=tenant.api.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {tenant.admin_token}"})


def create_user(tenant: TenantContext, email: str, password: str = "Temporary-pass-42", **extra: Any) -> dict[str, Any]:
    reply = admin_http(tenant).post("/v1/users", json={
        "email": email, "password": password, "display_name": "New Rep", "roles": ["sales_rep"], **extra,
    })
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


# -- lockout ---------------------------------------------------------------------------------------


def test_lockout_after_five_failures_same_for_unknown_email(platform: Platform, tenant: TenantContext) -> None:
    browser = Browser(platform.gateway_url)
    answers = {}
    for email in (admin_email(tenant), f"nobody@{tenant.slug}.example.com"):
        replies = [browser.sign_in(tenant.slug, email, "wrong-password-1") for _ in range(5)]
        assert [r.status_code for r in replies] == [400, 400, 400, 400, 429]
        assert all("Wrong company, email or password." in r.text for r in replies[:4])
        locked = browser.sign_in(tenant.slug, email, "demo-password-1")  # even the right password
        assert locked.status_code == 429 and locked.headers["retry-after"] in ("59", "60")
        assert "Too many attempts. Try again in 1 minute(s)." in locked.text
        answers[email] = (locked.status_code, re.sub(r"\s+", " ", re.search(r'role="alert">([^<]*)<',
                                                                            locked.text).group(1)))
    # Whether the email exists is not revealed: the same answer for both.
    assert len(set(answers.values())) == 1


# -- first-login password change -------------------------------------------------------------------


def test_first_login_password_change_before_any_code(platform: Platform, tenant: TenantContext) -> None:
    email = f"rep@{tenant.slug}.example.com"
    created = create_user(tenant, email)
    assert created["email"] == email
    browser = Browser(platform.gateway_url)

    step = browser.sign_in(tenant.slug, email, "Temporary-pass-42")
    assert step.status_code == 200 and "location" not in step.headers  # no code yet
    assert 'name="step" value="change_password"' in step.text
    # The old password again, mismatched confirmation, a common password: each refused, no code.
    for new, confirm in (("Temporary-pass-42", "Temporary-pass-42"), (NEW_PASSWORD, "something-else-1"),
                         ("1234567890", "1234567890")):
        refused = browser.submit(step, new_password=new, confirm_password=confirm)
        assert refused.status_code == 400 and "location" not in refused.headers
        assert 'class="error"' in refused.text
    done = browser.submit(step, new_password=NEW_PASSWORD, confirm_password=NEW_PASSWORD)
    token = browser.token(done)
    me = httpx.get(f"{platform.gateway_url}/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200

    # Next time the new password goes straight through; the temporary one no longer works.
    again = Browser(platform.gateway_url)
    assert again.sign_in(tenant.slug, email, "Temporary-pass-42").status_code == 400
    again.code_of(again.sign_in(tenant.slug, email, NEW_PASSWORD))


def test_tenant_first_admin_is_not_asked_to_change(platform: Platform, tenant: TenantContext) -> None:
    browser = Browser(platform.gateway_url)
    browser.code_of(browser.sign_in(tenant.slug, admin_email(tenant), "demo-password-1"))


# -- TOTP ----------------------------------------------------------------------------------------------


def web_session(platform: Platform, slug: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=platform.gateway_url, timeout=30, follow_redirects=True)
    page = client.get("/login", params={"next": "/app/account/security"})
    action, fields = form_of(page)
    fields.update(company=slug, email=email, password=password)
    landed = client.post(action, data=fields)
    assert landed.url.path == "/app/account/security", landed.text[:300]
    return client


def enroll_totp(platform: Platform, tenant: TenantContext) -> tuple[pyotp.TOTP, list[str]]:
    client = web_session(platform, tenant.slug, admin_email(tenant), "demo-password-1")
    page = client.get("/app/account/security")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    setup = client.post("/app/account/security/mfa", data={"csrf_token": csrf})
    assert setup.status_code == 200 and 'src="data:image/svg+xml' in setup.text
    secret = re.search(r'name="totp_secret" value="([A-Z2-7]+)"', setup.text).group(1)
    uri = re.search(r'name="totp_uri" value="([^"]+)"', setup.text).group(1)
    totp = pyotp.TOTP(secret)
    wrong = client.post("/app/account/security/mfa/confirm",
                        data={"csrf_token": csrf, "totp_secret": secret, "totp_uri": uri, "code": "12345x"})
    assert wrong.status_code == 400
    done = client.post("/app/account/security/mfa/confirm",
                       data={"csrf_token": csrf, "totp_secret": secret, "totp_uri": uri, "code": totp.now()})
    assert done.status_code == 200, done.text[:500]
    codes = re.findall(r"<li>([a-z0-9]{5}-[a-z0-9]{5})</li>", done.text)
    assert len(codes) == 10
    return totp, codes


def test_totp_required_once_enrolled(platform: Platform, tenant: TenantContext) -> None:
    totp, codes = enroll_totp(platform, tenant)
    browser = Browser(platform.gateway_url)
    step = browser.sign_in(tenant.slug, admin_email(tenant), "demo-password-1")
    assert step.status_code == 200 and 'name="step" value="mfa"' in step.text
    wrong = browser.submit(step, code="000000" if totp.now() != "000000" else "111111")
    assert wrong.status_code == 400 and "location" not in wrong.headers
    # The enrollment already used the current step's code, so this one is a replay until the next step;
    # a recovery code works at once (and only once).
    token = browser.token(browser.submit(step, code=codes[0]))
    assert token

    second = Browser(platform.gateway_url)
    step = second.sign_in(tenant.slug, admin_email(tenant), "demo-password-1")
    assert second.submit(step, code=codes[0]).status_code == 400  # a recovery code works once
    # The next step's code (one step of clock drift is allowed): newer than the enrollment's, so accepted.
    code = totp.at(time.time() + 30)
    assert second.token(second.submit(step, code=code))

    third = Browser(platform.gateway_url)
    step = third.sign_in(tenant.slug, admin_email(tenant), "demo-password-1")
    replay = third.submit(step, code=code)
    assert replay.status_code == 400 and "location" not in replay.headers  # the same code again: refused


# -- REST ----------------------------------------------------------------------------------------------


def forged_token(platform: Platform, tenant: TenantContext) -> str:
    key = ECKey.generate_key("P-256", private=True)
    return jwt.encode({"alg": "ES256", "typ": "at+jwt", "kid": "made-up"}, {
        "iss": platform.gateway_url, "aud": "crm-api", "sub": "x", "tid": tenant.tenant_id, "client_id": "x",
        "scope": "users:manage", "exp": 4102444800,
    }, key, algorithms=["ES256"])


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/v1/tenant/password-policy", None),
    ("PATCH", "/v1/tenant/password-policy", {"min_length": 12}),
    ("POST", "/v1/users/me:change-password", {"current_password": "x", "new_password": "y"}),
    ("POST", "/v1/users/0190a0c2-0000-7000-8000-000000000000:reset-password", {"new_password": "y"}),
])
def test_no_forged_or_expired_token_is_401(platform: Platform, tenant: TenantContext, method: str, path: str,
                                           body: Any) -> None:
    expired = _identity_signed(platform, tenant.tenant_id, ttl=-120)
    for headers in ({}, {"Authorization": f"Bearer {forged_token(platform, tenant)}"},
                    {"Authorization": f"Bearer {expired}"}):
        reply = httpx.request(method, f"{platform.gateway_url}{path}", json=body,
                              headers={**headers, "If-Match": 'W/"0"'})
        assert reply.status_code == 401, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")


def test_password_policy_read_update_and_enforced(tenant: TenantContext, other_tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    read = admin.get("/v1/tenant/password-policy")
    assert read.status_code == 200, read.text
    assert read.json() | {"updated_at": None} == {"min_length": 10, "reject_common_passwords": True,
                                                 "mfa_required_for_admins": False, "version": 0, "updated_at": None}
    assert read.headers["etag"] == 'W/"0"'

    assert admin.patch("/v1/tenant/password-policy", json={"min_length": 14}).status_code == 428
    bad = admin.patch("/v1/tenant/password-policy", json={"min_length": 3, "colour": "red"},
                      headers={"If-Match": 'W/"0"'})
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"min_length", "colour"}
    changed = admin.patch("/v1/tenant/password-policy", json={"min_length": 14}, headers={"If-Match": 'W/"0"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["min_length"] == 14 and changed.headers["etag"] == 'W/"1"'
    stale = admin.patch("/v1/tenant/password-policy", json={"min_length": 12}, headers={"If-Match": 'W/"0"'})
    assert stale.status_code == 412 and stale.headers["etag"] == 'W/"1"'

    # Enforced for new passwords, in the right field, in both languages.
    short = admin.post("/v1/users", json={"email": f"x@{tenant.slug}.example.com", "password": "Twelve-chars",
                                          "display_name": "X", "roles": []}, headers={"Accept-Language": "zh-CN"})
    assert short.status_code == 400 and short.json()["errors"][0]["code"] == "password_too_short"
    assert short.json()["errors"][0]["message"] == "密码太短。"
    # The other tenant keeps its own policy.
    assert admin_http(other_tenant).get("/v1/tenant/password-policy").json()["min_length"] == 10


def test_password_policy_needs_users_manage(tenant: TenantContext) -> None:
    client = tenant.http()  # a client token without users:manage
    assert client.get("/v1/tenant/password-policy").status_code == 403
    denied = client.patch("/v1/tenant/password-policy", json={"min_length": 12}, headers={"If-Match": 'W/"0"'})
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"


def test_change_my_password(platform: Platform, tenant: TenantContext) -> None:
    admin = admin_http(tenant)
    bad = admin.post("/v1/users/me:change-password", json={"current_password": "demo-password-1",
                                                            "new_password": "qwertyuiop"})
    assert bad.status_code == 400 and bad.json()["errors"][0] == {
        "field": "new_password", "code": "common_password", "message": "this password is among the most common ones"}
    wrong = admin.post("/v1/users/me:change-password", json={"current_password": "nope-nope-1",
                                                              "new_password": NEW_PASSWORD})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "current_password"
    assert admin.post("/v1/users/me:change-password", json={"new_password": NEW_PASSWORD}).status_code == 400
    # A client's token has no account: 403.
    as_client = tenant.http().post("/v1/users/me:change-password", json={"current_password": "demo-password-1",
                                                                         "new_password": NEW_PASSWORD})
    assert as_client.status_code == 403 and as_client.json()["code"] == "user_token_required"
    done = admin.post("/v1/users/me:change-password", json={"current_password": "demo-password-1",
                                                             "new_password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json()["must_change_password"] is False and done.json()["password_changed_at"]
    browser = Browser(platform.gateway_url)
    browser.code_of(browser.sign_in(tenant.slug, admin_email(tenant), NEW_PASSWORD))


def test_admin_resets_a_password(platform: Platform, tenant: TenantContext, other_tenant: TenantContext) -> None:
    email = f"reset@{tenant.slug}.example.com"
    user = create_user(tenant, email)
    path = f"/v1/users/{user['id']}:reset-password"
    assert admin_http(other_tenant).post(path, json={"new_password": "Another-temp-77"}).status_code == 404
    assert tenant.http().post(path, json={"new_password": "Another-temp-77"}).status_code == 403
    bad = admin_http(tenant).post(path, json={"new_password": "short"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "new_password"
    assert admin_http(tenant).post(path, json={}).status_code == 400
    done = admin_http(tenant).post(path, json={"new_password": "Another-temp-77"})
    assert done.status_code == 200 and done.json()["id"] == user["id"]
    browser = Browser(platform.gateway_url)
    step = browser.sign_in(tenant.slug, email, "Another-temp-77")
    assert 'name="step" value="change_password"' in step.text
