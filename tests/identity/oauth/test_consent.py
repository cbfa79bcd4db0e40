"""Consent in identity: third-party clients get a ticket instead of a code until the user approves
the scopes; deny issues nothing; the answer is remembered per user, client and scopes; the
first-party web client never asks; a ticket answers once."""

from __future__ import annotations

import pytest

from crm_dev.api_client import pkce_pair
from crm_identity.oauth.service import OAuthError, OAuthService
from tests.identity.oauth.conftest import Tenant
from tests.identity.oauth.oauth_testkit import authorize

APP_REDIRECT = "https://app.example.net/cb"


async def third_party(oauth: OAuthService, tenant: Tenant) -> tuple[str, str]:
    client, secret = await oauth.create_client(
        tenant.id, "Partner app", "confidential", ["authorization_code"], [APP_REDIRECT],
        ["customers:read", "customers:write", "tags:read"],
    )
    assert secret
    return client.client_id, secret


async def test_web_client_never_asks(oauth: OAuthService, tenant: Tenant) -> None:
    outcome = await authorize(oauth, tenant)
    assert outcome.code and not outcome.consent_ticket


async def test_deny_then_allow_then_remembered(oauth: OAuthService, tenant: Tenant) -> None:
    client_id, secret = await third_party(oauth, tenant)
    asked = await authorize(oauth, tenant, client_id=client_id, redirect_uri=APP_REDIRECT, scope="customers:read")
    assert asked.consent_ticket and not asked.code and asked.scope == "customers:read"

    denied = await oauth.resolve_consent(ticket=asked.consent_ticket, allow=False)
    assert denied.code == "" and denied.redirect_uri == APP_REDIRECT and denied.client_id == client_id
    with pytest.raises(OAuthError):  # a ticket answers once
        await oauth.resolve_consent(ticket=asked.consent_ticket, allow=True)

    # Denying remembered nothing: asked again.
    verifier, challenge = pkce_pair()
    again = await authorize(oauth, tenant, client_id=client_id, redirect_uri=APP_REDIRECT, scope="customers:read",
                            challenge=challenge)
    assert again.consent_ticket
    allowed = await oauth.resolve_consent(ticket=again.consent_ticket, allow=True)
    assert allowed.code and allowed.scope == "customers:read"
    # The code is bound to the challenge sent with the login, like any code.
    grant = await oauth.exchange_code(code=allowed.code, client_id=client_id, client_secret=secret,
                                      redirect_uri=APP_REDIRECT, code_verifier=verifier)
    assert grant.scope == "customers:read" and grant.refresh_token

    # Asked once: the same (or a smaller) scope set now gets a code directly...
    assert (await authorize(oauth, tenant, client_id=client_id, redirect_uri=APP_REDIRECT,
                            scope="customers:read")).code
    # ...but a scope not yet approved asks again, and approving adds to what was approved.
    wider = await authorize(oauth, tenant, client_id=client_id, redirect_uri=APP_REDIRECT,
                            scope="customers:read tags:read")
    assert wider.consent_ticket
    await oauth.resolve_consent(ticket=wider.consent_ticket, allow=True)
    assert (await authorize(oauth, tenant, client_id=client_id, redirect_uri=APP_REDIRECT, scope="tags:read")).code


async def test_forged_ticket_is_refused(oauth: OAuthService) -> None:
    with pytest.raises(OAuthError) as refused:
        await oauth.resolve_consent(ticket="forged", allow=True)
    assert refused.value.code == "invalid_request"


async def test_revoking_the_client_forgets_consent(oauth: OAuthService, tenant: Tenant) -> None:
    client_id, _ = await third_party(oauth, tenant)
    asked = await authorize(oauth, tenant, client_id=client_id, redirect_uri=APP_REDIRECT, scope="tags:read")
    await oauth.resolve_consent(ticket=asked.consent_ticket, allow=True)
    await oauth.revoke_client(tenant.id, client_id)
    with pytest.raises(Exception):  # noqa: B017 - the client no longer exists for the authorize step
        await authorize(oauth, tenant, client_id=client_id, redirect_uri=APP_REDIRECT, scope="tags:read")
