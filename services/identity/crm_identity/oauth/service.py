"""OAuth 2.0 as identity implements it (RFC 6749 + RFC 7636 + RFC 9068 tokens, per RFC 9700):
clients, one-time authorization codes bound to a PKCE S256 challenge, consent for third-party
clients, token issuance, rotated refresh tokens with reuse detection, revocation (RFC 7009) and
introspection (RFC 7662). The gateway speaks the HTTP protocol; every check that decides who
gets a token is here. docs/oauth.md describes the behaviour."""

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

from crm_identity.audit import log as audit
from crm_identity.keys.service import KeyRing
from crm_identity.oauth import consent as consents
from crm_identity.oauth import refresh as refresh_tokens
from crm_identity.roles.access import Access
from crm_identity.roles.service import load_access
from crm_identity.sessions import service as sign_in_sessions
from crm_identity.tables import authorization_codes, oauth_clients, revoked_access_tokens
from crm_identity.tables import users as users_table
from crm_identity.tenants.service import TenantService
from crm_identity.users import service as users
from crm_identity.users.login import LoginProgress, LoginSecurity, PendingAuthorization
from crm_identity.users.preferences import user_claims
from crm_platform.auth import TENANT_SCOPES
from crm_platform.db import control_session, tenant_session
from crm_platform.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound, Unauthenticated
from crm_platform.ids import new_id

WEB_CLIENT_ID = "crm-web"
CODE_TTL = timedelta(seconds=60)
VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
GRANT_TYPES = ("authorization_code", "client_credentials")
# Defaults of identity's settings (CRM_IDENTITY_ACCESS_TOKEN_TTL, ..._REFRESH_TOKEN_*).
ACCESS_TOKEN_TTL = 900
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
REFRESH_TOKEN_IDLE = timedelta(days=7)


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


def invalid_grant(message: str) -> OAuthError:
    return OAuthError(message, code="invalid_grant")


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str = ""


@dataclass(frozen=True)
class Authorization:
    """AuthorizeUser's outcome: a code, or (third-party client, scopes not yet approved) a
    ticket for the consent screen."""

    code: str
    scope: str
    consent_ticket: str = ""
    # Set while the sign-in needs another step first (first-login password, TOTP): users/login.py.
    login: LoginProgress | None = None


@dataclass(frozen=True)
class ConsentAnswer:
    code: str
    scope: str
    redirect_uri: str
    client_id: str


class OAuthService:
    def __init__(
        self,
        engine: AsyncEngine,
        keys: KeyRing,
        tenants: TenantService,
        token_ttl: int = ACCESS_TOKEN_TTL,
        refresh_lifetime: timedelta = REFRESH_TOKEN_LIFETIME,
        refresh_idle: timedelta = REFRESH_TOKEN_IDLE,
        login: LoginSecurity | None = None,
    ):
        self.engine = engine
        # Password check with lockout, and the steps before a code (first-login change, TOTP).
        self.login = login or LoginSecurity(engine, None)
        self.keys = keys
        self.tenants = tenants
        self.token_ttl = token_ttl
        self.refresh_lifetime = refresh_lifetime
        self.refresh_idle = refresh_idle

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
                .on_conflict_do_update(
                    index_elements=["client_id"],
                    # New catalogue scopes (e.g. roles:manage) reach an existing installation's web client.
                    set_={"redirect_uris": redirect_uris, "scopes": [s.value for s in TENANT_SCOPES]},
                )
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
                        # Nothing unless asked for: a new client holds only the scopes listed.
                        scopes=sorted(set(scopes)),
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
    ) -> Authorization:
        client = await self.get_client(client_id)
        if "authorization_code" not in client.grant_types:
            raise OAuthError("client may not use the code grant", code="unauthorized_client")
        if redirect_uri not in client.redirect_uris:  # exact match, RFC 9700 §4.1
            raise OAuthError("redirect_uri does not match the client's", code="invalid_request")
        if code_challenge_method != "S256" or not re.fullmatch(r"[A-Za-z0-9\-_]{43}", code_challenge):
            raise OAuthError("PKCE with S256 is required", code="invalid_request")
        tenant = await self.tenants.find_active_by_slug(tenant_slug)
        if tenant is None or not (client.tenant_id is None or client.tenant_id == tenant.id):
            await users.authenticate_nobody(password)
            raise Unauthenticated("wrong company, email or password", code="invalid_credentials")
        # Lockout with backoff, then the steps a sign-in may need first (users/login.py).
        user = await self.login.check_password(tenant.id, email, password)
        access = await self._access(tenant.id, user)
        scopes = self._granted_scopes(scope, frozenset(client.scopes) & access.scopes)
        progress = await self.login.begin(
            tenant.id, user, PendingAuthorization(client_id, redirect_uri, " ".join(scopes), code_challenge)
        )
        if progress.completed is None:
            return Authorization("", " ".join(scopes), login=progress)
        return await self._consent_or_code(client, progress.tenant_id, progress.user_id, progress.completed)

    async def continue_login(
        self, *, ticket: str, step: str, client_id: str, redirect_uri: str, new_password: str, code: str
    ) -> Authorization:
        """The next step of a sign-in `authorize_user` left pending; consent or the code once done."""
        progress = await self.login.continue_login(
            ticket=ticket, step=step, client_id=client_id, redirect_uri=redirect_uri, new_password=new_password,
            code=code,
        )
        if progress.completed is None:
            return Authorization("", "", login=progress)
        client = await self.get_client(progress.completed.client_id)
        return await self._consent_or_code(client, progress.tenant_id, progress.user_id, progress.completed)

    async def _consent_or_code(
        self, client: Any, tenant_id: uuid.UUID, user_id: uuid.UUID, pending: PendingAuthorization
    ) -> Authorization:
        scopes = pending.scope.split()
        async with control_session(self.engine) as session:
            ticket = await self._consent_ticket(
                session, client, tenant_id, user_id, pending.redirect_uri, scopes, pending.code_challenge
            )
            if ticket:
                return Authorization("", pending.scope, ticket)
            code = await self._issue_code(
                session, client.client_id, tenant_id, user_id, pending.redirect_uri, pending.scope,
                pending.code_challenge,
            )
        return Authorization(code, pending.scope)

    @staticmethod
    async def _issue_code(
        session: Any,
        client_id: str,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        redirect_uri: str,
        scope: str,
        code_challenge: str,
    ) -> str:
        code = secrets.token_urlsafe(32)
        await session.execute(
            sa.insert(authorization_codes).values(
                code_hash=_hash(code),
                client_id=client_id,
                tenant_id=tenant_id,
                user_id=user_id,
                redirect_uri=redirect_uri,
                scope=scope,
                code_challenge=code_challenge,
                expires_at=datetime.now(UTC) + CODE_TTL,
            )
        )
        return code

    # -- consent (third-party clients) ------------------------------------------------------
    @staticmethod
    async def _consent_ticket(
        session: Any,
        client: sa.Row[Any],
        tenant_id: uuid.UUID,
        user_id: uuid.UUID,
        redirect_uri: str,
        scopes: list[str],
        code_challenge: str,
    ) -> str:
        """A ticket for the consent screen, or "" when no consent is needed: the first-party web
        client, or scopes the user already approved for this client."""
        if client.client_id == WEB_CLIENT_ID:
            return ""
        if set(scopes) <= await consents.granted_scopes(session, tenant_id, user_id, client.client_id):
            return ""
        return await consents.open_ticket(
            session, client_id=client.client_id, tenant_id=tenant_id, user_id=user_id, redirect_uri=redirect_uri,
            scope=" ".join(scopes), code_challenge=code_challenge, now=datetime.now(UTC),
        )

    async def resolve_consent(self, *, ticket: str, allow: bool) -> ConsentAnswer:
        """The user's answer: allowed -> remembered and a code; denied -> no code (the gateway
        redirects with error=access_denied). Either way the ticket is spent."""
        async with control_session(self.engine) as session:
            row = await consents.take_ticket(session, ticket, datetime.now(UTC))
            if row is None:
                code = None
            elif not allow:
                code = ""
            else:
                await consents.remember(session, row.tenant_id, row.user_id, row.client_id, row.scope.split())
                code = await self._issue_code(
                    session, row.client_id, row.tenant_id, row.user_id, row.redirect_uri, row.scope,
                    row.code_challenge,
                )
        if row is None or code is None:
            raise OAuthError("the consent request expired or was already answered", code="invalid_request")
        return ConsentAnswer(code, row.scope if code else "", row.redirect_uri, row.client_id)

    async def exchange_code(
        self, *, code: str, client_id: str, client_secret: str, redirect_uri: str, code_verifier: str
    ) -> TokenGrant:
        """RFC 6749 §4.1.3. A code works once: presented again (by anyone), it fails and everything
        its first exchange issued is revoked (§4.1.2, RFC 9700 §4.2.1; `_revoke_reused_code`)."""
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
        if row is None:
            await self._revoke_reused_code(code)
            raise OAuthError("authorization code is invalid, expired or used", code="invalid_grant")
        if row.expires_at < datetime.now(UTC):
            raise OAuthError("authorization code is invalid, expired or used", code="invalid_grant")
        if row.client_id != client.client_id or row.redirect_uri != redirect_uri:
            raise OAuthError("code was issued to another client or redirect URI", code="invalid_grant")
        if not VERIFIER_RE.match(code_verifier) or not hmac.compare_digest(
            create_s256_code_challenge(code_verifier), row.code_challenge
        ):
            raise OAuthError("PKCE verification failed", code="invalid_grant")
        # A tenant suspended between the login and the exchange gets no token (also checks the user).
        user = await self._active_user(row.tenant_id, row.user_id)
        if user is None:
            raise OAuthError("user or tenant no longer active", code="invalid_grant")
        now = datetime.now(UTC)
        # The family (control schema), its session row and the audit entry (tenant schema) commit together.
        async with tenant_session(self.engine, row.tenant_id) as session:
            access = await load_access(session, user)
            # The user's roles may have shrunk since the code was issued.
            granted = [s for s in row.scope.split() if s in access.scopes]
            refresh, family_id = await refresh_tokens.start_family(
                session, client_id=client.client_id, tenant_id=row.tenant_id, user_id=user.id, scope=row.scope,
                now=now, lifetime=self.refresh_lifetime, idle=self.refresh_idle,
            )
            await sign_in_sessions.start(session, family_id, user.id, client.client_id, now)
            jti = str(new_id())
            token = self.keys.issue(
                subject=str(user.id),
                tenant_id=row.tenant_id,
                client_id=client.client_id,
                scopes=granted,
                ttl=self.token_ttl,
                user_id=user.id,
                roles=list(user.roles),
                jti=jti,
                session_id=str(family_id),
                user_claims=user_claims(user),
                **self._access_claims(access),
            )
            await self._audit_issued(session, "authorization_code", client.client_id, user.id, jti, family_id,
                                     granted)
            # Remember what this code issued; if the code was presented again meanwhile, hand out
            # nothing (the transaction rolls back, so no family and no usable token exist).
            reused = (await session.execute(
                sa.update(authorization_codes).where(authorization_codes.c.code_hash == row.code_hash)
                .values(family_id=family_id, access_jti=jti, access_expires_at=now + timedelta(seconds=self.token_ttl))
                .returning(authorization_codes.c.reused_at)
            )).scalar()
            if reused is not None:
                raise OAuthError("authorization code was used twice", code="invalid_grant")
        return TokenGrant(token, self.token_ttl, " ".join(granted), refresh)

    async def _revoke_reused_code(self, code: str) -> None:
        """A used code presented again: someone else holds it (a leaked redirect, a log). Revokes
        what its first exchange issued — the refresh-token family (so no further access tokens)
        and the access token (deny list: introspection reports it inactive; services that only
        verify signatures accept it until it expires, docs/oauth.md) — and marks the code reused,
        so an exchange still in flight hands out nothing. An unknown code changes nothing."""
        async with control_session(self.engine) as session:
            row = (await session.execute(
                sa.update(authorization_codes)
                .where(authorization_codes.c.code_hash == _hash(code), authorization_codes.c.used_at.is_not(None))
                .values(reused_at=sa.func.coalesce(authorization_codes.c.reused_at, sa.func.now()))
                .returning(authorization_codes)
            )).first()
        if row is None or row.family_id is None:
            return
        async with tenant_session(self.engine, row.tenant_id) as session:
            if await refresh_tokens.revoke_family(session, row.family_id, "code_reuse"):
                await self._audit_revoked(session, row, "code_reuse")  # the code row names user, client, family
        if row.access_jti and row.access_expires_at is not None:
            await self._revoke_access_token({
                "tid": str(row.tenant_id), "jti": row.access_jti, "client_id": row.client_id,
                "uid": str(row.user_id), "exp": int(row.access_expires_at.timestamp()),
            }, reason="code_reuse")

    @staticmethod
    async def _audit_issued(session: Any, grant_type: str, client_id: str, user_id: uuid.UUID | None, jti: str,
                            family_id: uuid.UUID | None, scopes: list[str]) -> None:
        """`token.issued`: the grant, client, the access token's jti and (user tokens) its family;
        never a token itself."""
        details: dict[str, Any] = {"grant_type": grant_type, "client_id": client_id, "jti": jti,
                                   "scope": " ".join(scopes)}
        if family_id is not None:
            details["family"] = str(family_id)
        if user_id is not None:
            await audit.record(session, audit.TOKEN_ISSUED, actor=str(user_id), actor_kind="user",
                               target_type="user", target_id=str(user_id), details=details)
        else:
            await audit.record(session, audit.TOKEN_ISSUED, actor=f"client:{client_id}", actor_kind="client",
                               target_type="client", target_id=client_id, details=details)

    # -- client credentials ---------------------------------------------------------------
    async def client_token(self, *, client_id: str, client_secret: str, scope: str) -> TokenGrant:
        client = await self._authenticate_client(client_id, client_secret)
        if "client_credentials" not in client.grant_types or client.tenant_id is None:
            raise OAuthError("client may not use client_credentials", code="unauthorized_client")
        tenant = await self.tenants.get(client.tenant_id)
        if tenant.status != "active":
            raise InvalidClient("tenant is not active")
        scopes = self._granted_scopes(scope, frozenset(client.scopes))
        jti = str(new_id())
        token = self.keys.issue(
            subject=f"client:{client.client_id}",
            tenant_id=client.tenant_id,
            client_id=client.client_id,
            scopes=scopes,
            ttl=self.token_ttl,
            jti=jti,
        )
        async with tenant_session(self.engine, client.tenant_id) as session:
            await self._audit_issued(session, "client_credentials", client.client_id, None, jti, None, scopes)
        return TokenGrant(token, self.token_ttl, " ".join(scopes))

    # -- refresh_token grant ----------------------------------------------------------------
    async def refresh(self, *, refresh_token: str, client_id: str, client_secret: str, scope: str) -> TokenGrant:
        """Rotates the refresh token. Checks run before the rotation, so a refused request (e.g. a
        widened scope) leaves the client's token usable; a reused token revokes its family, and
        that revocation commits although the request fails."""
        client = await self._authenticate_client(client_id, client_secret)
        if "authorization_code" not in client.grant_types:
            raise OAuthError("client may not use refresh tokens", code="unauthorized_client")
        now = datetime.now(UTC)
        failure: OAuthError | None = None
        new_token = ""
        granted: list[str] = []
        user: sa.Row[Any] | None = None
        async with control_session(self.engine) as session:
            found = await refresh_tokens.find(session, refresh_token)
        if found is None or found.client_id != client.client_id:
            raise invalid_grant("refresh token is invalid")
        # A tenant transaction (control tables are reachable from it): the rotation or revocation, the
        # session's last use and the audit entry commit together.
        async with tenant_session(self.engine, found.tenant_id) as session:
            row = await refresh_tokens.find(session, refresh_token, lock=True)
            if row is None or row.client_id != client.client_id:
                failure = invalid_grant("refresh token is invalid")
            elif row.revoked_at is not None:
                failure = invalid_grant("refresh token was revoked")
            elif row.used_at is not None:
                if await refresh_tokens.revoke_family(session, row.family_id, "reuse"):
                    await self._audit_revoked(session, row, "reuse")
                failure = invalid_grant("refresh token was already used; every token of this grant is now revoked")
            elif refresh_tokens.deadline(row) <= now:
                failure = invalid_grant("refresh token expired")
            else:
                try:
                    granted = self._granted_scopes(scope, frozenset(row.scope.split()))
                except OAuthError as exc:
                    failure = exc
                if failure is None:
                    user = await self._active_user(row.tenant_id, row.user_id)
                    if user is None:
                        if await refresh_tokens.revoke_family(session, row.family_id, "user_inactive"):
                            await self._audit_revoked(session, row, "user_inactive")
                        failure = invalid_grant("user or tenant no longer active")
                    else:
                        new_token = await refresh_tokens.rotate(session, row, now=now, idle=self.refresh_idle)
                        await sign_in_sessions.touch(session, row.family_id, now)
            if failure is None:
                assert row is not None and user is not None
                # The user's roles or the client's scopes may have shrunk since the authorization.
                access = await load_access(session, user)
                scopes = [s for s in granted if s in client.scopes and s in access.scopes]
                jti = str(new_id())
                token = self.keys.issue(
                    subject=str(user.id),
                    tenant_id=row.tenant_id,
                    client_id=client.client_id,
                    scopes=scopes,
                    ttl=self.token_ttl,
                    user_id=user.id,
                    roles=list(user.roles),
                    jti=jti,
                    session_id=str(row.family_id),
                    user_claims=user_claims(user),
                    **self._access_claims(access),
                )
                await self._audit_issued(session, "refresh_token", client.client_id, user.id, jti, row.family_id,
                                         scopes)
        if failure is not None:
            raise failure
        return TokenGrant(token, self.token_ttl, " ".join(scopes), new_token)

    @staticmethod
    async def _audit_revoked(session: Any, row: sa.Row[Any], reason: str) -> None:
        """`token.revoked` for a refresh-token family (the family id, never a token)."""
        await audit.record(session, audit.TOKEN_REVOKED, actor=str(row.user_id), actor_kind="user",
                           target_type="user", target_id=str(row.user_id),
                           details={"token_type": "refresh_token", "client_id": row.client_id,
                                    "family": str(row.family_id), "reason": reason})

    async def _access(self, tenant_id: uuid.UUID, user: sa.Row[Any]) -> Access:
        """The user's scopes, data scope, visible teams and field policies (roles/service.py)."""
        async with tenant_session(self.engine, tenant_id) as session:
            return await load_access(session, user)

    @staticmethod
    def _access_claims(access: Access) -> dict[str, Any]:
        return {"data_scope": access.data_scope, "team_ids": list(access.team_ids),
                "field_policies": access.field_policies}

    async def _active_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> sa.Row[Any] | None:
        try:
            tenant = await self.tenants.get(tenant_id)
        except NotFound:
            return None
        if tenant.status != "active":
            return None
        async with tenant_session(self.engine, tenant_id) as session:
            return (
                await session.execute(
                    sa.select(users_table).where(users_table.c.id == user_id, users_table.c.disabled.is_(False))
                )
            ).first()

    # -- revocation (RFC 7009) ----------------------------------------------------------------
    async def revoke(self, *, token: str, token_type_hint: str, client_id: str, client_secret: str) -> None:
        """Revokes a token the authenticated client holds. Unknown tokens, tokens of other clients
        and expired ones are ignored without saying so (RFC 7009 §2.2: the answer is always 200).
        A refresh token takes its family with it; an access token's `jti` joins the deny list that
        introspection consults (services that only verify signatures accept it until it expires)."""
        client = await self._authenticate_client(client_id, client_secret)
        kinds = ["access_token", "refresh_token"] if token_type_hint == "access_token" else [
            "refresh_token", "access_token"]
        for kind in kinds:
            if kind == "refresh_token":
                async with control_session(self.engine) as session:
                    found = await refresh_tokens.find(session, token)
                if found is not None:
                    if found.client_id == client.client_id:
                        async with tenant_session(self.engine, found.tenant_id) as session:
                            if await refresh_tokens.revoke_family(session, found.family_id, "revoked"):
                                await self._audit_revoked(session, found, "revoked")
                    return
            else:
                claims = self.keys.decode(token)
                if claims is not None:
                    if claims.get("client_id") == client.client_id:
                        await self._revoke_access_token(claims)
                    return

    async def _revoke_access_token(self, claims: dict[str, Any], reason: str = "revoked") -> None:
        """The jti joins the deny list; audited in the token's tenant (unless it is gone)."""
        tenant_id = uuid.UUID(str(claims["tid"]))
        values = {"jti": str(claims["jti"]), "tenant_id": tenant_id,
                  "expires_at": datetime.fromtimestamp(int(claims["exp"]), UTC)}
        insert = pg_insert(revoked_access_tokens).values(**values).on_conflict_do_nothing(index_elements=["jti"])
        try:
            tenant_status = (await self.tenants.get(tenant_id)).status
        except NotFound:
            tenant_status = ""
        if tenant_status not in ("active", "suspended"):  # no tenant schema to audit in
            async with control_session(self.engine) as session:
                await session.execute(insert)
            return
        async with tenant_session(self.engine, tenant_id) as session:
            added = (await session.execute(insert.returning(revoked_access_tokens.c.jti))).first()
            if added is not None:
                uid = str(claims.get("uid") or "")
                await audit.record(
                    session, audit.TOKEN_REVOKED, actor=uid or f"client:{claims['client_id']}",
                    actor_kind="user" if uid else "client", target_type="user" if uid else "client",
                    target_id=uid or str(claims["client_id"]),
                    details={"token_type": "access_token", "client_id": str(claims["client_id"]),
                             "jti": str(claims["jti"]), "reason": reason},
                )

    # -- introspection (RFC 7662) --------------------------------------------------------------
    async def introspect(
        self, *, token: str, token_type_hint: str, client_id: str, client_secret: str
    ) -> dict[str, Any] | None:
        """What an active token carries, for a confidential client of the token's own tenant;
        None (inactive) for anything expired, revoked, forged, unknown or of another tenant."""
        client = await self._authenticate_client(client_id, client_secret)
        if client.kind != "confidential" or client.tenant_id is None:
            raise InvalidClient("introspection is for confidential clients of a tenant")
        if token_type_hint != "refresh_token" or not token.startswith(refresh_tokens.TOKEN_PREFIX):
            claims = self.keys.decode(token)
            if claims is not None:
                return await self._introspect_access(claims, client.tenant_id)
        return await self._introspect_refresh(token, client.tenant_id)

    async def _introspect_access(self, claims: dict[str, Any], tenant_id: uuid.UUID) -> dict[str, Any] | None:
        if claims.get("tid") != str(tenant_id):
            return None
        async with control_session(self.engine) as session:
            revoked = (
                await session.execute(
                    sa.select(revoked_access_tokens.c.jti).where(revoked_access_tokens.c.jti == str(claims["jti"]))
                )
            ).first()
        if revoked is not None or not await self._client_usable(str(claims["client_id"])):
            return None
        if (await self.tenants.get(tenant_id)).status != "active":
            return None
        answer = {
            "active": True,
            "scope": str(claims.get("scope", "")),
            "client_id": str(claims["client_id"]),
            "sub": str(claims.get("sub", "")),
            "exp": int(claims["exp"]),
            "iat": int(claims.get("iat", 0)),
            "tid": str(claims["tid"]),
            "token_type": "Bearer",
            "jti": str(claims["jti"]),
            "iss": str(claims.get("iss", "")),
            "aud": str(claims.get("aud", "")),
        }
        return answer

    async def _introspect_refresh(self, token: str, tenant_id: uuid.UUID) -> dict[str, Any] | None:
        async with control_session(self.engine) as session:
            row = await refresh_tokens.find(session, token)
        if row is None or row.tenant_id != tenant_id or not refresh_tokens.usable(row, datetime.now(UTC)):
            return None
        if not await self._client_usable(row.client_id) or await self._active_user(row.tenant_id, row.user_id) is None:
            return None
        return {
            "active": True,
            "scope": row.scope,
            "client_id": row.client_id,
            "sub": str(row.user_id),
            "exp": int(refresh_tokens.deadline(row).timestamp()),
            "iat": int(row.issued_at.timestamp()),
            "tid": str(row.tenant_id),
            "token_type": "refresh_token",
        }

    async def _client_usable(self, client_id: str) -> bool:
        try:
            await self.get_client(client_id)
        except NotFound:
            return False
        return True

    # -- API client management (tenant admins) ---------------------------------------------------
    async def get_tenant_client(self, tenant_id: uuid.UUID, client_id: str) -> sa.Row[Any]:
        """One of the tenant's clients, revoked or not; another tenant's (or the platform's own
        web client) is NotFound."""
        async with control_session(self.engine) as session:
            row = (
                await session.execute(
                    sa.select(oauth_clients).where(
                        oauth_clients.c.client_id == client_id, oauth_clients.c.tenant_id == tenant_id
                    )
                )
            ).first()
        if row is None:
            raise NotFound("no such API client")
        return row

    async def rotate_secret(self, tenant_id: uuid.UUID, client_id: str) -> tuple[sa.Row[Any], str]:
        """A new secret, returned once; the old one stops working at once."""
        client = await self.get_tenant_client(tenant_id, client_id)
        if client.revoked_at is not None:
            raise Conflict("the client is revoked", code="client_revoked")
        if client.kind != "confidential":
            raise Conflict("a public client has no secret", code="client_has_no_secret")
        secret = f"cs_{secrets.token_urlsafe(32)}"
        async with control_session(self.engine) as session:
            row = (
                await session.execute(
                    sa.update(oauth_clients)
                    .where(
                        oauth_clients.c.client_id == client_id,
                        oauth_clients.c.tenant_id == tenant_id,
                        oauth_clients.c.revoked_at.is_(None),
                    )
                    .values(secret_hash=_hash(secret), secret_rotated_at=sa.func.now())
                    .returning(oauth_clients)
                )
            ).first()
        if row is None:  # revoked in between
            raise Conflict("the client is revoked", code="client_revoked")
        return row, secret

    async def revoke_client(self, tenant_id: uuid.UUID, client_id: str) -> sa.Row[Any]:
        """The client gets no more tokens (every grant authenticates it or checks it is live), its
        refresh-token families are revoked and its consents forgotten. Idempotent."""
        await self.get_tenant_client(tenant_id, client_id)
        async with control_session(self.engine) as session:
            await session.execute(
                sa.update(oauth_clients)
                .where(
                    oauth_clients.c.client_id == client_id,
                    oauth_clients.c.tenant_id == tenant_id,
                    oauth_clients.c.revoked_at.is_(None),
                )
                .values(revoked_at=sa.func.now(), secret_hash=None)
            )
            await refresh_tokens.revoke_client(session, client_id, "client_revoked")
            await consents.forget_client(session, client_id)
        return await self.get_tenant_client(tenant_id, client_id)
