"""TOTP management and the last-admin rule over REST, with real TOTP codes (pyotp): new recovery
codes need a current TOTP code and end the old ones; turning TOTP off needs a TOTP or recovery code
and is refused (409 `mfa_required_by_policy`) when the tenant requires it for admins; the tenant's
last active admin can be neither disabled nor lose `tenant_admin` (409 `last_tenant_admin`)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from crm_dev.platform import Platform
from tests.conftest import ALL_SCOPES, TenantContext
from tests.e2e.test_login_security import Browser, admin_email, admin_http, create_user, enroll_totp

DISABLE = "/v1/users/me/mfa:disable"
REGENERATE = "/v1/users/me/mfa/recovery-codes:regenerate"


def mfa_sign_in(platform: Platform, tenant: TenantContext, code: str) -> httpx.Response:
    browser = Browser(platform.gateway_url)
    step = browser.sign_in(tenant.slug, admin_email(tenant), "demo-password-1")
    assert 'name="step" value="mfa"' in step.text
    return browser.submit(step, code=code)


def audit(tenant: TenantContext, action: str) -> list[dict[str, Any]]:
    reply = tenant.http([*ALL_SCOPES, "audit:read"]).get("/v1/audit-events", params={"action": action})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["items"])


def test_regenerate_recovery_codes_then_disable(platform: Platform, tenant: TenantContext) -> None:
    totp, old_codes = enroll_totp(platform, tenant)
    http = admin_http(tenant)  # the fixture's token: still valid, the user is the same

    # Bad input first: nothing changes.
    for body, status, code in (({"code": ""}, 400, "invalid_input"), ({"code": "000000"}, 400, "invalid_input"),
                               ({"code": old_codes[0]}, 400, "invalid_input"),  # a recovery code is not enough
                               ({"code": "1", "extra": 1}, 400, None)):
        reply = http.post(REGENERATE, json=body)
        assert reply.status_code == status, (body, reply.text)
        if code:
            assert reply.json()["code"] == code and reply.json()["errors"][0]["field"] == "code"
    assert http.get("/v1/users/me/sessions").status_code == 200

    # The enrollment used the current step's code; the next step's is newer, so accepted.
    new = http.post(REGENERATE, json={"code": totp.at(time.time() + 30)})
    assert new.status_code == 200, new.text
    new_codes = new.json()["codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    # Old recovery codes stop working at sign-in; a new one works.
    assert mfa_sign_in(platform, tenant, old_codes[1]).status_code == 400
    assert mfa_sign_in(platform, tenant, new_codes[0]).status_code == 302

    # Turn off with a recovery code.
    wrong = http.post(DISABLE, json={"code": "aaaaa-bbbbb"})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "code"
    off = http.post(DISABLE, json={"code": new_codes[1]})
    assert off.status_code == 200, off.text
    assert off.json()["mfa_enabled"] is False and off.json()["recovery_codes_remaining"] == 0
    again = http.post(DISABLE, json={"code": new_codes[2]})
    assert again.status_code == 409 and again.json()["code"] == "mfa_not_enabled"
    # Sign-in goes straight through now.
    browser = Browser(platform.gateway_url)
    browser.code_of(browser.sign_in(tenant.slug, admin_email(tenant), "demo-password-1"))

    actions = [e["action"] for e in audit(tenant, "mfa.")]  # newest first
    assert actions.index("mfa.disabled") < actions.index("mfa.recovery_codes_regenerated") < actions.index(
        "mfa.enrolled")
    assert {e["action"] for e in audit(tenant, "mfa.failed")} == {"mfa.failed"}  # wrong codes were recorded
    assert new_codes[1] not in str(audit(tenant, "mfa."))


def test_disable_refused_when_the_tenant_requires_mfa_for_admins(platform: Platform, tenant: TenantContext) -> None:
    totp, codes = enroll_totp(platform, tenant)
    http = admin_http(tenant)
    policy = http.get("/v1/tenant/password-policy")
    assert http.patch("/v1/tenant/password-policy", json={"mfa_required_for_admins": True},
                      headers={"If-Match": policy.headers["ETag"]}).status_code == 200
    refused = http.post(DISABLE, json={"code": codes[0]}, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 409 and refused.json()["code"] == "mfa_required_by_policy"
    assert "两步验证" in refused.json()["detail"]
    assert http.get("/v1/users/me/sessions").status_code == 200
    # The recovery code was not spent by the refusal.
    assert mfa_sign_in(platform, tenant, codes[0]).status_code == 302
    # A client's token has no account.
    client = tenant.http(ALL_SCOPES).post(DISABLE, json={"code": totp.now()})
    assert client.status_code == 403 and client.json()["code"] == "user_token_required"


def test_last_active_tenant_admin_is_kept(platform: Platform, tenant: TenantContext,
                                         other_tenant: TenantContext) -> None:
    http = admin_http(tenant)
    me = next(u for u in http.get("/v1/users").json()["items"] if u["email"] == admin_email(tenant))
    etag = http.get(f"/v1/users/{me['id']}").headers["ETag"]
    for body in ({"disabled": True}, {"roles": ["sales_manager"]}):
        for lang, text in (("en", "last active admin"), ("zh-CN", "最后一位")):
            reply = http.patch(f"/v1/users/{me['id']}", json=body,
                               headers={"If-Match": etag, "Accept-Language": lang})
            assert reply.status_code == 409, reply.text
            assert reply.json()["code"] == "last_tenant_admin" and text in reply.json()["detail"]
    assert http.get(f"/v1/users/{me['id']}").headers["ETag"] == etag  # nothing written

    # With a second admin, the first may step down; then the second is the last one.
    second = create_user(tenant, f"admin2@{tenant.slug}.example.com", roles=["tenant_admin"])
    demoted = http.patch(f"/v1/users/{me['id']}", json={"roles": ["tenant_admin", "sales_manager"]},
                         headers={"If-Match": etag})
    assert demoted.status_code == 200
    disabled = http.patch(f"/v1/users/{second['id']}", json={"disabled": True},
                          headers={"If-Match": f'W/"{second["version"]}"'})
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    # Disabled users do not count: the first admin is now the last active one.
    last = http.patch(f"/v1/users/{me['id']}", json={"roles": ["sales_rep"]},
                      headers={"If-Match": f'W/"{demoted.json()["version"]}"'})
    assert last.status_code == 409 and last.json()["code"] == "last_tenant_admin"

    # Bad input, another tenant, missing scope.
    bad = http.patch(f"/v1/users/{me['id']}", json={"disabled": "maybe"}, headers={"If-Match": etag})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "disabled"
    other = httpx.patch(f"{platform.gateway_url}/v1/users/{me['id']}", json={"disabled": True},
                        headers={"Authorization": f"Bearer {other_tenant.admin_token}", "If-Match": etag})
    assert other.status_code == 404
    assert tenant.http(ALL_SCOPES).patch(f"/v1/users/{me['id']}", json={"disabled": True},
                                         headers={"If-Match": etag}).status_code == 403
