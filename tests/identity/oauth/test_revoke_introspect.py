"""Revocation (RFC 7009) and introspection (RFC 7662) in identity."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from crm_identity.keys.service import KeyRing
from crm_identity.oauth.service import WEB_CLIENT_ID, InvalidClient, OAuthError, OAuthService
from crm_platform.auth import ACCESS_TOKEN_TYPE
from tests.identity.oauth.conftest import AUDIENCE, ISSUER, Tenant
from tests.identity.oauth.oauth_testkit import code_grant


async def introspector(oauth: OAuthService, tenant: Tenant) -> tuple[str, str]:
    client, secret = await oauth.create_client(tenant.id, "resource server", "confidential",
                                               ["client_credentials"], [], ["customers:read"])
    assert secret
    return client.client_id, secret


async def look(oauth: OAuthService, creds: tuple[str, str], token: str, hint: str = "") -> dict[str, object] | None:
    return await oauth.introspect(token=token, token_type_hint=hint, client_id=creds[0], client_secret=creds[1])


async def test_introspect_access_and_refresh_tokens(oauth: OAuthService, tenant: Tenant) -> None:
    creds = await introspector(oauth, tenant)
    grant = await code_grant(oauth, tenant, scope="customers:read")
    access = await look(oauth, creds, grant.access_token)
    assert access is not None
    assert access["active"] is True and access["token_type"] == "Bearer" and access["tid"] == str(tenant.id)
    assert access["client_id"] == WEB_CLIENT_ID and access["scope"] == "customers:read"
    assert int(access["exp"]) - int(access["iat"]) == 900  # type: ignore[call-overload]
    refresh = await look(oauth, creds, grant.refresh_token, "refresh_token")
    assert refresh is not None and refresh["token_type"] == "refresh_token" and refresh["sub"] == access["sub"]


async def test_revoked_access_token_is_inactive(oauth: OAuthService, tenant: Tenant) -> None:
    creds = await introspector(oauth, tenant)
    grant = await code_grant(oauth, tenant)
    await oauth.revoke(token=grant.access_token, token_type_hint="access_token", client_id=WEB_CLIENT_ID,
                       client_secret="")
    assert await look(oauth, creds, grant.access_token) is None
    # The refresh token was not touched by revoking the access token.
    assert await look(oauth, creds, grant.refresh_token) is not None


async def test_revoking_a_refresh_token_revokes_its_family(oauth: OAuthService, tenant: Tenant) -> None:
    creds = await introspector(oauth, tenant)
    first = await code_grant(oauth, tenant)
    second = await oauth.refresh(refresh_token=first.refresh_token, client_id=WEB_CLIENT_ID, client_secret="",
                                 scope="")
    assert await look(oauth, creds, first.refresh_token) is None  # rotated: no longer usable
    await oauth.revoke(token=second.refresh_token, token_type_hint="", client_id=WEB_CLIENT_ID, client_secret="")
    assert await look(oauth, creds, second.refresh_token) is None
    with pytest.raises(OAuthError):
        await oauth.refresh(refresh_token=second.refresh_token, client_id=WEB_CLIENT_ID, client_secret="", scope="")


async def test_revoke_ignores_unknown_and_other_clients_tokens(oauth: OAuthService, tenant: Tenant) -> None:
    creds = await introspector(oauth, tenant)
    grant = await code_grant(oauth, tenant)
    await oauth.revoke(token="nothing-like-a-token", token_type_hint="", client_id=WEB_CLIENT_ID, client_secret="")
    # Another client cannot revoke the web client's tokens (and is not told so).
    await oauth.revoke(token=grant.refresh_token, token_type_hint="", client_id=creds[0], client_secret=creds[1])
    await oauth.revoke(token=grant.access_token, token_type_hint="", client_id=creds[0], client_secret=creds[1])
    assert await look(oauth, creds, grant.refresh_token) is not None
    assert await look(oauth, creds, grant.access_token) is not None
    with pytest.raises(InvalidClient):
        await oauth.revoke(token=grant.access_token, token_type_hint="", client_id=creds[0], client_secret="wrong")


async def test_introspection_needs_a_confidential_client_of_the_same_tenant(
    oauth: OAuthService, tenant: Tenant, other_tenant: Tenant
) -> None:
    grant = await code_grant(oauth, tenant)
    with pytest.raises(InvalidClient):  # the public web client may not introspect
        await oauth.introspect(token=grant.access_token, token_type_hint="", client_id=WEB_CLIENT_ID,
                               client_secret="")
    foreign = await introspector(oauth, other_tenant)
    assert await look(oauth, foreign, grant.access_token) is None
    assert await look(oauth, foreign, grant.refresh_token) is None


async def test_expired_and_forged_tokens_are_inactive(oauth: OAuthService, keys: KeyRing, tenant: Tenant) -> None:
    creds = await introspector(oauth, tenant)
    expired = keys.issue(subject="u", tenant_id=tenant.id, client_id=WEB_CLIENT_ID, scopes=[], ttl=-120)
    assert await look(oauth, creds, expired) is None
    stranger = ECKey.generate_key("P-256", private=True)
    stranger.ensure_kid()
    now = int(time.time())
    forged = jwt.encode(
        {"alg": "ES256", "kid": keys.active_kid, "typ": ACCESS_TOKEN_TYPE},
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "client_id": WEB_CLIENT_ID, "tid": str(tenant.id),
         "scope": "clients:manage", "iat": now, "exp": now + 600, "jti": "x"},
        stranger, algorithms=["ES256"],
    )
    assert await look(oauth, creds, forged) is None
    assert await look(oauth, creds, "rt_unknown", "refresh_token") is None


async def test_revoked_client_tokens_are_inactive(oauth: OAuthService, tenant: Tenant) -> None:
    creds = await introspector(oauth, tenant)
    client, secret = await oauth.create_client(tenant.id, "erp", "confidential", ["client_credentials"], [],
                                               ["customers:read"])
    assert secret
    token = (await oauth.client_token(client_id=client.client_id, client_secret=secret, scope="")).access_token
    assert await look(oauth, creds, token) is not None
    await oauth.revoke_client(tenant.id, client.client_id)
    assert await look(oauth, creds, token) is None
    with pytest.raises(InvalidClient):
        await oauth.client_token(client_id=client.client_id, client_secret=secret, scope="")
