"""Small helpers for identity's OAuth tests: PKCE, a signed-in code, a token grant."""

from __future__ import annotations

from crm_dev.api_client import pkce_pair
from crm_identity.oauth.service import WEB_CLIENT_ID, Authorization, OAuthService, TokenGrant
from tests.identity.oauth.conftest import PASSWORD, WEB_REDIRECT, Tenant


async def authorize(
    oauth: OAuthService, tenant: Tenant, *, client_id: str = WEB_CLIENT_ID, redirect_uri: str = WEB_REDIRECT,
    scope: str = "", challenge: str = "",
) -> Authorization:
    return await oauth.authorize_user(
        tenant_slug=tenant.slug, email=tenant.email, password=PASSWORD, client_id=client_id,
        redirect_uri=redirect_uri, scope=scope, code_challenge=challenge or pkce_pair()[1],
        code_challenge_method="S256",
    )


async def code_grant(
    oauth: OAuthService, tenant: Tenant, *, scope: str = "", client_id: str = WEB_CLIENT_ID,
    client_secret: str = "", redirect_uri: str = WEB_REDIRECT,
) -> TokenGrant:
    """Sign in and exchange the code (consent must already be given for third-party clients)."""
    verifier, challenge = pkce_pair()
    outcome = await authorize(oauth, tenant, client_id=client_id, redirect_uri=redirect_uri, scope=scope,
                              challenge=challenge)
    assert outcome.code, "expected a code, not a consent ticket"
    return await oauth.exchange_code(code=outcome.code, client_id=client_id, client_secret=client_secret,
                                     redirect_uri=redirect_uri, code_verifier=verifier)
