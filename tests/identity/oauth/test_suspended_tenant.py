"""A suspended tenant gets no tokens from identity (code exchange, client credentials, refresh),
and suspending or resuming writes exactly one event through the outbox."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.api_client import pkce_pair
from crm_identity.oauth.service import WEB_CLIENT_ID, InvalidClient, OAuthError, OAuthService
from crm_identity.tenants.service import TenantService
from crm_platform.db import control_session
from crm_platform.errors import Conflict, InvalidInput, PreconditionFailed
from crm_platform.tables import outbox
from tests.identity.oauth.conftest import WEB_REDIRECT, Tenant
from tests.identity.oauth.oauth_testkit import authorize, code_grant


async def _events(engine: AsyncEngine, tenant: Tenant) -> list[str]:
    async with control_session(engine) as session:
        rows = await session.execute(
            sa.select(outbox.c.subject).where(outbox.c.tenant_id == tenant.id).order_by(outbox.c.seq)
        )
        return [s for s in rows.scalars() if ".tenant." in s]


async def test_a_code_issued_before_suspension_is_not_exchanged(
    oauth: OAuthService, tenants: TenantService, tenant: Tenant
) -> None:
    verifier, challenge = pkce_pair()
    outcome = await authorize(oauth, tenant, challenge=challenge)
    await tenants.set_status(tenant.id, "suspended", "tests")
    with pytest.raises(OAuthError) as refused:
        await oauth.exchange_code(code=outcome.code, client_id=WEB_CLIENT_ID, client_secret="",
                                  redirect_uri=WEB_REDIRECT, code_verifier=verifier)
    assert refused.value.code == "invalid_grant"


async def test_suspended_tenant_gets_no_tokens_until_resumed(
    oauth: OAuthService, tenants: TenantService, tenant: Tenant, engine: AsyncEngine
) -> None:
    grant = await code_grant(oauth, tenant)
    client, secret = await oauth.create_client(tenant.id, "erp", "confidential", ["client_credentials"], [],
                                               ["customers:read"])
    assert secret
    row = await tenants.set_status(tenant.id, "suspended", "unpaid")
    assert row.status == "suspended"
    await tenants.set_status(tenant.id, "suspended")  # idempotent: no second event
    assert await _events(engine, tenant) == [f"crm.{tenant.id}.tenant.suspended"]
    with pytest.raises(InvalidClient):
        await oauth.client_token(client_id=client.client_id, client_secret=secret, scope="")
    with pytest.raises(OAuthError):
        await oauth.refresh(refresh_token=grant.refresh_token, client_id=WEB_CLIENT_ID, client_secret="", scope="")
    with pytest.raises(Exception):  # noqa: B017 - authorize_user refuses an inactive tenant's sign-in
        await authorize(oauth, tenant)

    await tenants.set_status(tenant.id, "active")
    assert await _events(engine, tenant) == [f"crm.{tenant.id}.tenant.suspended", f"crm.{tenant.id}.tenant.resumed"]
    assert await oauth.client_token(client_id=client.client_id, client_secret=secret, scope="")
    assert await code_grant(oauth, tenant)


async def test_status_changes_are_checked(tenants: TenantService, tenant: Tenant) -> None:
    with pytest.raises(InvalidInput):
        await tenants.set_status(tenant.id, "frozen")
    # Erasing (offboarding) needs a suspended tenant; an offboarded one cannot come back.
    with pytest.raises(PreconditionFailed):
        await tenants.mark_offboarded(tenant.id)
    await tenants.set_status(tenant.id, "suspended")
    assert (await tenants.mark_offboarded(tenant.id))["control.tenant_directory.marked_offboarded"] == 1
    assert (await tenants.mark_offboarded(tenant.id))["control.tenant_directory.marked_offboarded"] == 0
    with pytest.raises(Conflict):
        await tenants.set_status(tenant.id, "active")
