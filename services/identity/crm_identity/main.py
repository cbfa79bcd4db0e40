"""identity: tenants, users, OAuth clients, tokens and signing keys."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crm_identity.audit.automation import automation_audit_subscription
from crm_identity.audit.revealed import revealed_subscription
from crm_identity.backups.service import JOB_KIND as BACKUP_JOB
from crm_identity.backups.service import RETRY_SCHEDULE as BACKUP_RETRIES
from crm_identity.backups.service import TenantBackups
from crm_identity.backups.servicer import SERVICE_NAME as BACKUP_SERVICE
from crm_identity.backups.servicer import TenantBackupServicer
from crm_identity.imports.service import JOB_KIND as IMPORT_JOB
from crm_identity.imports.service import RETRY_SCHEDULE, UserImports
from crm_identity.invitations.service import Invitations
from crm_identity.invitations.servicer import PUBLIC_METHODS as USER_ADMIN_PUBLIC
from crm_identity.invitations.servicer import SERVICE_NAME as USER_ADMIN_SERVICE
from crm_identity.invitations.servicer import UserAdminServicer
from crm_identity.keys.service import KeyReloader, KeyRing
from crm_identity.notices.webhook_disabled import webhook_notice_subscription
from crm_identity.oauth.service import ACCESS_TOKEN_TTL, REFRESH_TOKEN_IDLE, REFRESH_TOKEN_LIFETIME, OAuthService
from crm_identity.sealing import Sealer, reseal_targets
from crm_identity.servicer import PUBLIC_METHODS, SERVICE_NAME, IdentityServicer
from crm_identity.sessions.servicer import SERVICE_NAME as ACCOUNT_SECURITY_SERVICE
from crm_identity.sessions.servicer import AccountSecurityServicer
from crm_identity.tenants.restore import tenant_settings_data
from crm_identity.tenants.service import TenantService
from crm_identity.users.account import AccountSecurity
from crm_identity.users.login import LoginSecurity
from crm_identity.users.mfa import Mfa
from crm_platform.config import ServiceSettings
from crm_platform.consumer import Subscription
from crm_platform.jobs import JobWorker
from crm_platform.offboarding import TenantDataHook
from crm_platform.pagination import PageTokens
from crm_platform.resealing import JOB_KIND as RESEAL_JOB
from crm_platform.resealing import Resealer
from crm_platform.runtime import ServiceDefinition, ServiceRuntime, serve
from crm_proto.crm.identity.v1 import (
    account_security_pb2_grpc,
    backups_pb2_grpc,
    identity_pb2_grpc,
    user_admin_pb2_grpc,
)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_IDENTITY_", extra="ignore")

    service_name: str = "identity"
    identity_addr: str = ""  # identity is the JWKS source itself
    master_key: str = Field(description="base64 of 32 bytes; wraps signing keys")
    tenant_services: str = Field(description="comma-separated host:port of services provisioned per tenant")
    web_redirect_uris: str = Field(description="comma-separated redirect URIs of the crm-web client")
    # RFC 9700 §2.2: short-lived access tokens, since services verify signatures only and so
    # accept a revoked access token until it expires (docs/oauth.md).
    access_token_ttl: int = ACCESS_TOKEN_TTL
    refresh_token_lifetime_days: float = REFRESH_TOKEN_LIFETIME.days
    refresh_token_idle_days: float = REFRESH_TOKEN_IDLE.days
    # How often each replica re-reads the signing keys (picks up `crm rotate-keys`).
    key_reload_interval: float = 5.0
    # Invitations (invitations/, docs/identity.md#invitations): links are {public_url}/invite/{token}.
    public_url: str = Field(description="the gateway's public URL, for links in emails")
    # Email goes through the platform mailer: CRM_IDENTITY_SMTP_*, _MAIL_FROM (crm_platform/config.py).


class Identity:
    """The objects `_register` builds and `_on_start` / the JWKS source use."""

    keys: KeyRing
    oauth: OAuthService
    tenants: TenantService
    imports: UserImports
    backups: TenantBackups
    reloader: KeyReloader | None = None
    reload_task: asyncio.Task[None] | None = None


_state = Identity()


def _register(server: grpc.aio.Server, runtime: ServiceRuntime) -> Iterable[str]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    keys = KeyRing(runtime.engine, settings.master_key, settings.token_issuer, settings.token_audience)
    _state.keys = keys
    tenants = TenantService(
        runtime.engine, keys, [a for a in settings.tenant_services.split(",") if a], runtime.provision
    )
    _state.tenants = tenants
    # User security: TOTP secrets sealed under the same master key as the signing keys.
    mfa = Mfa(Sealer(settings.master_key))
    oauth = OAuthService(
        runtime.engine,
        keys,
        tenants,
        settings.access_token_ttl,
        refresh_lifetime=timedelta(days=settings.refresh_token_lifetime_days),
        refresh_idle=timedelta(days=settings.refresh_token_idle_days),
        login=LoginSecurity(runtime.engine, mfa),
    )
    _state.oauth = oauth
    _register_user_admin(server, runtime, settings)
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(
        IdentityServicer(
            runtime.engine, keys, tenants, oauth, AccountSecurity(runtime.engine, mfa),
            page_tokens=PageTokens(settings.page_token_key), service_key=settings.page_token_key,
        ),
        server,
    )
    account_security_pb2_grpc.add_AccountSecurityServiceServicer_to_server(
        AccountSecurityServicer(runtime.engine, AccountSecurity(runtime.engine, mfa)), server)
    # A tenant admin's backups (backups/, docs/tenancy.md#backups-for-the-tenant-admin).
    _state.backups = TenantBackups(runtime.engine, keys, [a for a in settings.tenant_services.split(",") if a],
                                   lambda: runtime.tenant_data)
    backups_pb2_grpc.add_TenantBackupServiceServicer_to_server(
        TenantBackupServicer(runtime.engine, _state.backups), server)
    return [SERVICE_NAME, ACCOUNT_SECURITY_SERVICE, USER_ADMIN_SERVICE, BACKUP_SERVICE]


def _register_user_admin(server: grpc.aio.Server, runtime: ServiceRuntime, settings: Settings) -> None:
    """Invitations and user import (crm.identity.v1.UserAdminService)."""
    invitations = Invitations(runtime.engine, runtime.mailer, settings.public_url)
    _state.imports = UserImports(runtime.engine, invitations)
    user_admin_pb2_grpc.add_UserAdminServiceServicer_to_server(
        UserAdminServicer(runtime.engine, invitations, _state.imports), server
    )


def _workers(runtime: ServiceRuntime) -> list[JobWorker]:
    """The user-import job (imports/service.py) and re-sealing secrets (sealing.py)."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    resealer = Resealer(runtime.engine, reseal_targets(Sealer(settings.master_key)))
    return [JobWorker(runtime.engine, {IMPORT_JOB: _state.imports.run, RESEAL_JOB: resealer.run}, RETRY_SCHEDULE,
                      concurrency=2),
            JobWorker(runtime.engine, {BACKUP_JOB: _state.backups.run}, BACKUP_RETRIES, concurrency=1)]


async def _on_start(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    await _state.keys.load()
    await _state.oauth.ensure_web_client([u for u in settings.web_redirect_uris.split(",") if u])
    _state.reloader = KeyReloader(_state.keys, settings.key_reload_interval)
    _state.reload_task = asyncio.create_task(_state.reloader.run(), name="KeyReloader")


async def _on_stop(runtime: ServiceRuntime) -> None:
    if _state.reloader is not None:
        _state.reloader.stop()
    if _state.reload_task is not None:
        await asyncio.gather(_state.reload_task, return_exceptions=True)


def _local_jwks(runtime: ServiceRuntime) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def fetch() -> dict[str, Any]:
        return _state.keys.jwks()

    return fetch


def _subscriptions(runtime: ServiceRuntime) -> list[Subscription]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return [revealed_subscription(), automation_audit_subscription(),
            webhook_notice_subscription(runtime.mailer, settings.public_url)]


def _tenant_data(runtime: ServiceRuntime) -> TenantDataHook:
    """Offboarding: the directory row is marked offboarded before the schema (users) is dropped.
    Backups and restore: the tenant's settings (`control.tenant`) travel with its data, and restored
    users get no usable password (tenants/restore.py)."""

    async def erase(tenant_id: uuid.UUID) -> dict[str, int]:
        return await _state.tenants.mark_offboarded(tenant_id)

    return tenant_settings_data(runtime.engine, erase)


DEFINITION = ServiceDefinition(
    name="identity",
    package_dir=Path(__file__).parent,
    register=_register,
    public_methods=PUBLIC_METHODS | USER_ADMIN_PUBLIC,
    workers=_workers,
    jwks_fetcher=_local_jwks,
    on_start=_on_start,
    on_stop=_on_stop,
    tenant_data=_tenant_data,
    subscriptions=_subscriptions,
    sends_mail=True,  # invitations, webhook endpoint notices
)


def main() -> None:
    serve(DEFINITION, Settings())  # type: ignore[call-arg]
