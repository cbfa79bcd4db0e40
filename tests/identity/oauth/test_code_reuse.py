"""A reused authorization code (RFC 6749 §4.1.2, RFC 9700 §4.2.1): the second redemption fails and
everything the first one issued is revoked — the refresh-token family (no more access tokens, the
sign-in session ends) and the access token (introspection reports it inactive) — and audited."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.api_client import pkce_pair
from crm_identity.keys.service import KeyRing
from crm_identity.oauth.service import WEB_CLIENT_ID, OAuthError, OAuthService, TokenGrant
from crm_identity.tables import audit_events
from crm_platform.db import tenant_session
from tests.identity.oauth.conftest import WEB_REDIRECT, Tenant
from tests.identity.oauth.oauth_testkit import authorize, code_grant
from tests.identity.oauth.test_revoke_introspect import introspector, look


async def exchange(oauth: OAuthService, code: str, verifier: str) -> TokenGrant:
    return await oauth.exchange_code(code=code, client_id=WEB_CLIENT_ID, client_secret="", redirect_uri=WEB_REDIRECT,
                                     code_verifier=verifier)


async def signed_in_code(oauth: OAuthService, tenant: Tenant) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    outcome = await authorize(oauth, tenant, scope="customers:read", challenge=challenge)
    return outcome.code, verifier


async def revocations(engine: AsyncEngine, tenant: Tenant) -> list[dict[str, object]]:
    async with tenant_session(engine, tenant.id) as session:
        rows = (await session.execute(sa.select(audit_events.c.details).where(
            audit_events.c.action == "token.revoked").order_by(audit_events.c.occurred_at))).scalars()
        return [dict(r) for r in rows]


async def test_a_second_redemption_fails_and_revokes_the_first_ones_tokens(
    oauth: OAuthService, keys: KeyRing, tenant: Tenant, engine: AsyncEngine,
) -> None:
    creds = await introspector(oauth, tenant)
    code, verifier = await signed_in_code(oauth, tenant)
    first = await exchange(oauth, code, verifier)
    assert await look(oauth, creds, first.access_token) is not None
    untouched = await code_grant(oauth, tenant)  # another sign-in of the same user

    with pytest.raises(OAuthError) as replayed:
        await exchange(oauth, code, verifier)

    assert replayed.value.code == "invalid_grant"
    assert await look(oauth, creds, first.access_token) is None
    assert await look(oauth, creds, first.refresh_token, "refresh_token") is None
    with pytest.raises(OAuthError) as refreshed:
        await oauth.refresh(refresh_token=first.refresh_token, client_id=WEB_CLIENT_ID, client_secret="", scope="")
    assert refreshed.value.code == "invalid_grant"
    # Only that authorization's tokens: the user's other sign-in keeps working.
    assert await look(oauth, creds, untouched.access_token) is not None
    assert await oauth.refresh(refresh_token=untouched.refresh_token, client_id=WEB_CLIENT_ID, client_secret="",
                               scope="")
    claims = keys.decode(first.access_token)
    assert claims is not None
    audited = await revocations(engine, tenant)
    assert {(d["token_type"], d["reason"]) for d in audited} == {("refresh_token", "code_reuse"),
                                                                 ("access_token", "code_reuse")}
    assert {d.get("jti") for d in audited} >= {claims["jti"]}
    # A third attempt changes nothing more and still fails.
    with pytest.raises(OAuthError):
        await exchange(oauth, code, "wrong-verifier-" + "x" * 40)
    assert len(await revocations(engine, tenant)) == 2


async def test_a_replay_racing_the_first_exchange_leaves_no_usable_token(
    oauth: OAuthService, tenant: Tenant,
) -> None:
    creds = await introspector(oauth, tenant)
    code, verifier = await signed_in_code(oauth, tenant)

    results = await asyncio.gather(*(exchange(oauth, code, verifier) for _ in range(3)), return_exceptions=True)

    assert all(isinstance(r, OAuthError | TokenGrant) for r in results), results
    granted = [r for r in results if isinstance(r, TokenGrant)]
    assert len(granted) <= 1
    for grant in granted:  # whichever exchange won, its tokens are revoked by the replays
        assert await look(oauth, creds, grant.access_token) is None
        assert await look(oauth, creds, grant.refresh_token, "refresh_token") is None


async def test_an_unknown_code_revokes_nothing(oauth: OAuthService, tenant: Tenant) -> None:
    creds = await introspector(oauth, tenant)
    grant = await code_grant(oauth, tenant)
    with pytest.raises(OAuthError):
        await exchange(oauth, "not-a-code", pkce_pair()[0])
    assert await look(oauth, creds, grant.access_token) is not None
