"""OAuth 2.0 as identity implements it (RFC 6749 + RFC 7636 + RFC 9068 tokens, per RFC 9700):
clients, one-time authorization codes bound to a PKCE S256 challenge, and token issuance.
The gateway speaks the HTTP protocol; every check that decides who gets a token is here."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import sqlalchemy as sa
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.keys.service import KeyRing
from crm_identity.tables import authorization_codes, oauth_clients
from crm_identity.tables import users as users_table
from crm_identity.tenants.service import TenantService
from crm_identity.users import service as users
from crm_identity.users.roles import scopes_for_roles
from crm_platform.auth import TENANT_SCOPES
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import DomainError, FieldError, InvalidInput, NotFound, Unauthenticated

WEB_CLIENT_ID = "crm-web"
CODE_TTL = timedelta(seconds=60)
VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
GRANT_TYPES = ("authorization_code", "client_credentials")


class OAuthError(DomainError):
    """RFC 6749 §5.2 errors; `code` is the OAuth error code (invalid_grant, ...)."""

    code = "invalid_request"
    status = grpc.StatusCode.INVALID_ARGUMENT


class InvalidClient(Unauthenticated):
    code = "invalid_client"


def _hash(secret: str) -> str:
    # Client secrets and codes are 256-bit random values: a plain SHA-256 is a sufficient
    # one-way hash (no dictionary to attack), and verification stays cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scope: str


class OAuthService:
    def __init__(self, engine: AsyncEngine, keys: KeyRing, tenants: TenantService, token_ttl: int):
        self.engine = engine
        self.keys = keys
        self.tenants = tenants
        self.token_ttl = token_ttl

    # -- clients ---------------------------------------------------------------------------
    async def ensure_web_client(self, redirect_uris: list[str]) -> None:
        """The platform's own public client for the web UI (code + PKCE, no secret)."""
        async with control_session(self.engine) as session:
            await session.execute(
                pg_insert(oauth_clients)
                .values(
                    client_id=WEB_CLIENT_ID,
                    tenant_id=None,
                    name="CRM web",
                    kind="public",
                    secret_hash=None,
                    grant_types=["authorization_code"],
                    redirect_uris=redirect_uris,
                    scopes=[s.value for s in TENANT_SCOPES],
                )
                .on_conflict_do_update(index_elements=["client_id"], set_={"redirect_uris": redirect_uris})
            )

    async def get_client(self, client_id: str) -> sa.Row[Any]:
        async with control_session(self.engine) as session:
            row = (
                await session.execute(
                    sa.select(oauth_clients).where(
                        oauth_clients.c.client_id == client_id, oauth_clients.c.revoked_at.is_(None)
                    )
                )
            ).first()
        if row is None:
            raise NotFound("unknown client")
        return row

    async def create_client(
        self,
        tenant_id: uuid.UUID,
        name: str,
        kind: str,
        grant_types: list[str],
        redirect_uris: list[str],
        scopes: list[str],
    ) -> tuple[sa.Row[Any], str | None]:
        kind = kind or "confidential"
        grant_types = grant_types or ["client_credentials"]
        errors: list[FieldError] = []
        if not name.strip():
            errors.append(FieldError("name", "required", "name is required"))
        if kind not in ("confidential", "public"):
            errors.append(FieldError("kind", "invalid_kind", "kind must be confidential or public"))
        for grant in grant_types:
            if grant not in GRANT_TYPES:
                errors.append(FieldError("grant_types", "unsupported_grant_type", f"unsupported grant {grant!r}"))
        if kind == "public" and "client_credentials" in grant_types:
            errors.append(
                FieldError("grant_types", "public_client_credentials", "a public client cannot use client_credentials")
            )
        if "authorization_code" in grant_types and not redirect_uris:
            errors.append(FieldError("redirect_uris", "required", "the code grant needs a redirect URI"))
        for uri in redirect_uris:
            if not re.match(r"^https?://[^\s#]+$", uri):
                errors.append(FieldError("redirect_uris", "invalid_redirect_uri", f"invalid redirect URI {uri!r}"))
        allowed = {s.value for s in TENANT_SCOPES}
        for scope in scopes:
            if scope not in allowed:
                errors.append(FieldError("scopes", "invalid_scope", f"unknown scope {scope!r}"))
        if errors:
            raise InvalidInput(errors)
        client_id = f"cli_{secrets.token_urlsafe(12)}"
        secret = f"cs_{secrets.token_urlsafe(32)}" if kind == "confidential" else None
        async with control_session(self.engine) as session:
            row = (
                await session.execute(
                    sa.insert(oauth_clients)
                    .values(
                        client_id=client_id,
                        tenant_id=tenant_id,
                        name=name.strip(),
                        kind=kind,
                        secret_hash=_hash(secret) if secret else None,
                        grant_types=grant_types,
                        redirect_uris=redirect_uris,
                        scopes=scopes or sorted(allowed),
                    )
                    .returning(oauth_clients)
                )
            ).one()
        return row, secret

    async def list_clients(self, tenant_id: uuid.UUID) -> list[sa.Row[Any]]:
        async with control_session(self.engine) as session:
            return list(
                (
                    await session.execute(
                        sa.select(oauth_clients)
                        .where(oauth_clients.c.tenant_id == tenant_id)
                        .order_by(oauth_clients.c.created_at)
                    )
                ).all()
            )

    async def _authenticate_client(self, client_id: str, client_secret: str) -> sa.Row[Any]:
        try:
            client = await self.get_client(client_id)
        except NotFound:
            raise InvalidClient("client authentication failed") from None
        if client.kind == "confidential":
            if not client_secret or not hmac.compare_digest(client.secret_hash or "", _hash(client_secret)):
                raise InvalidClient("client authentication failed")
        elif client_secret:
            raise InvalidClient("public clients have no secret")
        return client

    @staticmethod
    def _granted_scopes(requested: str, allowed: frozenset[str]) -> list[str]:
        """Requested scopes must all be allowed; no request means everything allowed."""
        wanted = requested.split()
        if not wanted:
            return sorted(allowed)
        denied = [s for s in wanted if s not in allowed]
        if denied:
            raise OAuthError(f"scope not allowed: {' '.join(denied)}", code="invalid_scope")
        return sorted(set(wanted))

    # -- authorization code + PKCE ----------------------------------------------------------
    async def authorize_user(
        self,
        *,
        tenant_slug: str,
        email: str,
        password: str,
        client_id: str,
        redirect_uri: str,
        scope: str,
        code_challenge: str,
        code_challenge_method: str,
    ) -> tuple[str, str]:
        client = await self.get_client(client_id)
        if "authorization_code" not in client.grant_types:
            raise OAuthError("client may not use the code grant", code="unauthorized_client")
        if redirect_uri not in client.redirect_uris:  # exact match, RFC 9700 §4.1
            raise OAuthError("redirect_uri does not match the client's", code="invalid_request")
        if code_challenge_method != "S256" or not re.fullmatch(r"[A-Za-z0-9\-_]{43}", code_challenge):
            raise OAuthError("PKCE with S256 is required", code="invalid_request")
        tenant = await self.tenants.find_active_by_slug(tenant_slug)
        user = None
        if tenant is not None and (client.tenant_id is None or client.tenant_id == tenant.id):
            async with tenant_session(self.engine, tenant.id) as session:
                user = await users.authenticate(session, email, password)
        else:
            await users.authenticate_nobody(password)
        if tenant is None or user is None:
            raise Unauthenticated("wrong company, email or password", code="invalid_credentials")
        scopes = self._granted_scopes(scope, frozenset(client.scopes) & scopes_for_roles(list(user.roles)))
        code = secrets.token_urlsafe(32)
        async with control_session(self.engine) as session:
            await session.execute(
                sa.insert(authorization_codes).values(
                    code_hash=_hash(code),
                    client_id=client_id,
                    tenant_id=tenant.id,
                    user_id=user.id,
                    redirect_uri=redirect_uri,
                    scope=" ".join(scopes),
                    code_challenge=code_challenge,
                    expires_at=datetime.now(UTC) + CODE_TTL,
                )
            )
        return code, " ".join(scopes)

    async def exchange_code(
        self, *, code: str, client_id: str, client_secret: str, redirect_uri: str, code_verifier: str
    ) -> TokenGrant:
        client = await self._authenticate_client(client_id, client_secret)
        async with control_session(self.engine) as session:
            # Marking it used in the same statement makes a replayed code fail even under a race.
            row = (
                await session.execute(
                    sa.update(authorization_codes)
                    .where(authorization_codes.c.code_hash == _hash(code), authorization_codes.c.used_at.is_(None))
                    .values(used_at=sa.func.now())
                    .returning(authorization_codes)
                )
            ).first()
        if row is None or row.expires_at < datetime.now(UTC):
            raise OAuthError("authorization code is invalid, expired or used", code="invalid_grant")
        if row.client_id != client.client_id or row.redirect_uri != redirect_uri:
            raise OAuthError("code was issued to another client or redirect URI", code="invalid_grant")
        if not VERIFIER_RE.match(code_verifier) or not hmac.compare_digest(
            create_s256_code_challenge(code_verifier), row.code_challenge
        ):
            raise OAuthError("PKCE verification failed", code="invalid_grant")
        async with tenant_session(self.engine, row.tenant_id) as session:
            user = (
                await session.execute(
                    sa.select(users_table).where(users_table.c.id == row.user_id, users_table.c.disabled.is_(False))
                )
            ).first()
        if user is None:
            raise OAuthError("user no longer active", code="invalid_grant")
        token = self.keys.issue(
            subject=str(user.id),
            tenant_id=row.tenant_id,
            client_id=client.client_id,
            scopes=row.scope.split(),
            ttl=self.token_ttl,
            user_id=user.id,
            roles=list(user.roles),
        )
        return TokenGrant(token, self.token_ttl, row.scope)

    # -- client credentials ---------------------------------------------------------------
    async def client_token(self, *, client_id: str, client_secret: str, scope: str) -> TokenGrant:
        client = await self._authenticate_client(client_id, client_secret)
        if "client_credentials" not in client.grant_types or client.tenant_id is None:
            raise OAuthError("client may not use client_credentials", code="unauthorized_client")
        tenant = await self.tenants.get(client.tenant_id)
        if tenant.status != "active":
            raise InvalidClient("tenant is not active")
        scopes = self._granted_scopes(scope, frozenset(client.scopes))
        token = self.keys.issue(
            subject=f"client:{client.client_id}",
            tenant_id=client.tenant_id,
            client_id=client.client_id,
            scopes=scopes,
            ttl=self.token_ttl,
        )
        return TokenGrant(token, self.token_ttl, " ".join(scopes))
