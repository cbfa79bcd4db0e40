"""Refresh tokens in identity: issued by the code grant only, rotated on every use, reuse revokes
the family, scope may narrow but never widen, idle and absolute deadlines."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.keys.service import KeyRing
from crm_identity.oauth.service import WEB_CLIENT_ID, InvalidClient, OAuthError, OAuthService
from crm_identity.tenants.service import TenantService
from tests.identity.oauth.conftest import Tenant, make_oauth
from tests.identity.oauth.oauth_testkit import code_grant


async def refresh(oauth: OAuthService, token: str, scope: str = "") -> object:
    return await oauth.refresh(refresh_token=token, client_id=WEB_CLIENT_ID, client_secret="", scope=scope)


async def test_code_grant_returns_a_refresh_token_that_rotates(oauth: OAuthService, keys: KeyRing,
                                                              tenant: Tenant) -> None:
    first = await code_grant(oauth, tenant)
    assert first.refresh_token.startswith("rt_") and first.expires_in == 900
    second = await oauth.refresh(refresh_token=first.refresh_token, client_id=WEB_CLIENT_ID, client_secret="",
                                 scope="")
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.scope == first.scope
    claims = keys.decode(second.access_token)
    assert claims is not None and claims["tid"] == str(tenant.id) and claims["client_id"] == WEB_CLIENT_ID
    third = await refresh(oauth, second.refresh_token)
    assert third.refresh_token not in (first.refresh_token, second.refresh_token)  # type: ignore[attr-defined]


async def test_reusing_a_rotated_token_revokes_the_whole_family(oauth: OAuthService, tenant: Tenant) -> None:
    first = await code_grant(oauth, tenant)
    second = await oauth.refresh(refresh_token=first.refresh_token, client_id=WEB_CLIENT_ID, client_secret="",
                                 scope="")
    with pytest.raises(OAuthError) as reused:
        await refresh(oauth, first.refresh_token)
    assert reused.value.code == "invalid_grant"
    # The legitimate holder's newest token died with the family.
    with pytest.raises(OAuthError) as newest:
        await refresh(oauth, second.refresh_token)
    assert newest.value.code == "invalid_grant"
    # Another authorization of the same user is another family, untouched.
    other = await code_grant(oauth, tenant)
    assert await refresh(oauth, other.refresh_token)


async def test_concurrent_use_of_one_token_is_reuse(oauth: OAuthService, tenant: Tenant) -> None:
    grant = await code_grant(oauth, tenant)
    results = await asyncio.gather(refresh(oauth, grant.refresh_token), refresh(oauth, grant.refresh_token),
                                   return_exceptions=True)
    assert sum(isinstance(r, OAuthError) for r in results) == 1
    winner = next(r for r in results if not isinstance(r, BaseException))
    with pytest.raises(OAuthError):  # the loser's attempt revoked the family the winner's token is in
        await refresh(oauth, winner.refresh_token)  # type: ignore[attr-defined]


async def test_scope_can_narrow_but_not_widen(oauth: OAuthService, tenant: Tenant) -> None:
    grant = await code_grant(oauth, tenant, scope="customers:read customers:write")
    with pytest.raises(OAuthError) as widened:
        await refresh(oauth, grant.refresh_token, scope="customers:read webhooks:manage")
    assert widened.value.code == "invalid_scope"
    # A refused request does not spend the token.
    narrow = await oauth.refresh(refresh_token=grant.refresh_token, client_id=WEB_CLIENT_ID, client_secret="",
                                 scope="customers:read")
    assert narrow.scope == "customers:read"
    # The family keeps the original grant: the next refresh may ask for all of it again.
    again = await refresh(oauth, narrow.refresh_token)
    assert again.scope == "customers:read customers:write"  # type: ignore[attr-defined]


async def test_unknown_forged_and_other_clients_tokens_are_refused(oauth: OAuthService, tenant: Tenant) -> None:
    grant = await code_grant(oauth, tenant)
    for token in ("rt_forged", "", grant.access_token):
        with pytest.raises(OAuthError) as refused:
            await refresh(oauth, token)
        assert refused.value.code == "invalid_grant"
    with pytest.raises(InvalidClient):
        await oauth.refresh(refresh_token=grant.refresh_token, client_id="cli_nobody", client_secret="x", scope="")
    with pytest.raises(InvalidClient):  # a public client has no secret to send
        await oauth.refresh(refresh_token=grant.refresh_token, client_id=WEB_CLIENT_ID, client_secret="x", scope="")
    assert await refresh(oauth, grant.refresh_token)  # none of that spent it


async def test_idle_timeout(engine: AsyncEngine, keys: KeyRing, tenants: TenantService, tenant: Tenant) -> None:
    oauth = make_oauth(engine, keys, tenants, refresh_idle=timedelta(seconds=1))
    grant = await code_grant(oauth, tenant)
    await asyncio.sleep(1.2)
    with pytest.raises(OAuthError) as expired:
        await refresh(oauth, grant.refresh_token)
    assert expired.value.code == "invalid_grant" and "expired" in expired.value.message


async def test_absolute_lifetime_is_not_extended_by_rotation(
    engine: AsyncEngine, keys: KeyRing, tenants: TenantService, tenant: Tenant
) -> None:
    oauth = make_oauth(engine, keys, tenants, refresh_lifetime=timedelta(seconds=2), refresh_idle=timedelta(days=1))
    grant = await code_grant(oauth, tenant)
    await asyncio.sleep(1.0)
    rotated = await oauth.refresh(refresh_token=grant.refresh_token, client_id=WEB_CLIENT_ID, client_secret="",
                                  scope="")
    await asyncio.sleep(1.2)
    with pytest.raises(OAuthError) as expired:
        await refresh(oauth, rotated.refresh_token)
    assert "expired" in expired.value.message


async def test_client_credentials_get_no_refresh_token(oauth: OAuthService, tenant: Tenant) -> None:
    client, secret = await oauth.create_client(tenant.id, "erp", "confidential", ["client_credentials"], [],
                                               ["customers:read"])
    assert secret
    grant = await oauth.client_token(client_id=client.client_id, client_secret=secret, scope="")
    assert grant.refresh_token == ""
