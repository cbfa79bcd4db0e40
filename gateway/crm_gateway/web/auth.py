"""The web UI as an OAuth client of its own authorization server: authorization code + PKCE with
the platform's public client `crm-web`; the code is exchanged server-side and the access token
kept in a signed httpOnly session cookie (it never reaches page scripts, and there are none)."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.auth import verify_token
from crm_gateway.clients import Caller, request_origin
from crm_gateway.i18n import N_, Msg, messages, parse_locale
from crm_gateway.problems import Problem, UpstreamError
from crm_gateway.settings import GatewaySettings
from crm_gateway.web import formatting
from crm_gateway.web.session import PendingLogin, WebCookies, WebSession, safe_next
from crm_gateway.web.templating import LANG_COOKIE, message_page, page_locale
from crm_platform.auth import unverified_segment
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """No valid session: the page handler raises it, the app answers with a redirect to /login."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


def login_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    response = RedirectResponse(f"/login?{urlencode({'next': exc.next_path})}", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.clear_session(response)
    return response


async def web_session(request: Request) -> WebSession:
    """Dependency of every /app page (after `refresh_web_session` has run)."""
    cookies: WebCookies = request.app.state.web_cookies
    session: WebSession | None = getattr(request.state, "web_session", None) or cookies.session(request)
    if session is None or session.expired:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else request.url.path)
    return session


def session_caller(request: Request, session: WebSession) -> Caller:
    """Calls on behalf of the signed-in page user; sends the browser's origin (ip, user agent) like
    the REST `Caller`, so audit entries from the web UI carry them."""
    return Caller(page_locale(request), token=session.token, deadline=request.app.state.rpc_deadline,
                  origin=request_origin(request))


def authorize_url(settings: GatewaySettings, pending: PendingLogin) -> str:
    query = {
        "response_type": "code",
        "client_id": settings.web_client_id,
        "redirect_uri": settings.web_redirect_uri,
        "state": pending.state,
        "code_challenge": create_s256_code_challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    if settings.web_scopes:
        query["scope"] = settings.web_scopes
    return f"/oauth/authorize?{urlencode(query)}"


@router.get("/")
async def home() -> RedirectResponse:
    """The start page: the home dashboard (web/dashboard.py), for every role."""
    return RedirectResponse("/app/dashboard", status_code=302)


@router.get("/login")
async def login(request: Request, next: str | None = None) -> Response:
    settings: GatewaySettings = request.app.state.settings
    # RFC 7636 §4.1: 32 random octets, base64url -> a 43-character verifier.
    pending = PendingLogin(verifier=secrets.token_urlsafe(32), state=secrets.token_urlsafe(16), next=safe_next(next))
    response = RedirectResponse(authorize_url(settings, pending), status_code=302)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.start_login(response, pending)
    return response


def _failed(request: Request, message: Msg, **params: object) -> Response:
    locale = page_locale(request)
    return message_page(
        request, messages(locale).gettext("Sign-in did not complete"), messages(locale).text(message, **params),
        status_code=400, link=("/login", messages(locale).gettext("Sign in again")),
    )


def _display_name(claims: dict[str, Any]) -> str:
    for claim in ("name", "email", "preferred_username"):
        if isinstance(claims.get(claim), str) and claims[claim]:
            return str(claims[claim])
    return ""


@dataclass(frozen=True)
class TenantFacts:
    """What the shell and the formatting need of the tenant: its name and time zone."""

    name: str = ""
    time_zone: str = ""


async def tenant_facts(caller: Caller, services: Any) -> TenantFacts:
    try:
        tenant = await caller.call(services.identity.GetTenant, pb.GetTenantRequest())
    except UpstreamError:
        return TenantFacts()  # the top bar's label and a default zone: not worth failing the sign-in for
    return TenantFacts(str(tenant.name), str(tenant.time_zone))


@router.get("/auth/callback")
async def callback(request: Request, caller: AnonymousDep, services: BackendsDep) -> Response:
    cookies: WebCookies = request.app.state.web_cookies
    settings: GatewaySettings = request.app.state.settings
    pending = cookies.pending_login(request)
    params = request.query_params
    if pending is None or not secrets.compare_digest(params.get("state", "").encode(), pending.state.encode()):
        return _failed(request, N_("The sign-in took too long or was started in another window."))
    if params.get("error"):
        return _failed(request, N_("Sign-in was refused: %(reason)s"),
                       reason=params.get("error_description") or params["error"])
    try:
        reply = await caller.call(services.identity.ExchangeAuthorizationCode, pb.ExchangeAuthorizationCodeRequest(
            code=params.get("code", ""), client_id=settings.web_client_id, redirect_uri=settings.web_redirect_uri,
            code_verifier=pending.verifier,
        ))
        # Verified like any API token: a token the API would refuse must not make a session.
        user = await verify_token(request, reply.access_token)
    except (UpstreamError, Problem):
        return _failed(request, N_("We could not complete the sign-in. Please try again."))
    assert user.principal is not None
    tenant = await tenant_facts(Caller(caller.locale, token=reply.access_token, origin=caller.origin), services)
    session = _session_from(reply, list(user.principal.roles), tenant)
    response = RedirectResponse(pending.next, status_code=303)
    cookies.write_session(response, session)
    cookies.end_login(response)
    if session.locale:  # the user's own language, chosen on their account page, from now on
        set_language_cookie(request, response, session.locale)
    return response


def _session_from(reply: pb.TokenResponse, roles: list[str], tenant: TenantFacts,
                  csrf: str | None = None) -> WebSession:
    claims = token_claims(reply.access_token)
    expires_at = int(time.time()) + max(0, int(reply.expires_in))
    if isinstance(claims.get("exp"), int):
        expires_at = min(expires_at, int(claims["exp"]))
    extra = {"csrf": csrf} if csrf else {}
    return WebSession(token=reply.access_token, expires_at=expires_at, refresh_token=reply.refresh_token,
                      tenant_name=tenant.name, user_name=_display_name(claims), roles=roles,
                      time_zone=str(claims.get("zoneinfo") or ""), tenant_zone=tenant.time_zone,
                      locale=str(claims.get("locale") or ""), **extra)


async def refresh_web_session(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """HTTP middleware for /app pages: swaps an expiring access token for a fresh one with the
    session's refresh token (which identity rotates), and stores the new pair in the cookie.
    A refused refresh (revoked, expired, reused) simply ends the session."""
    cookies: WebCookies = request.app.state.web_cookies
    session = cookies.session(request) if request.url.path.startswith("/app") else None
    formatting.CURRENT_SESSION.set(session)
    if session is None or not session.needs_refresh:
        return await call_next(request)
    settings: GatewaySettings = request.app.state.settings
    services = request.app.state.backends
    caller = Caller(page_locale(request), deadline=request.app.state.rpc_deadline, origin=request_origin(request))
    try:
        reply = await caller.call(services.identity.RefreshAccessToken, pb.RefreshAccessTokenRequest(
            refresh_token=session.refresh_token, client_id=settings.web_client_id,
        ))
    except UpstreamError:
        request.state.web_session = None
        response = await call_next(request)
        cookies.clear_session(response)
        return response
    # Same user and roles; the tenant's name and zone read again (an admin may have changed them);
    # the CSRF token stays so forms already on screen still post.
    tenant = await tenant_facts(Caller(caller.locale, token=reply.access_token, origin=caller.origin), services)
    refreshed = _session_from(reply, session.roles, tenant if tenant.name else
                              TenantFacts(session.tenant_name, session.tenant_zone), csrf=session.csrf)
    request.state.web_session = refreshed
    formatting.CURRENT_SESSION.set(refreshed)
    response = await call_next(request)
    cookies.write_session(response, refreshed)
    return response


class WebSessionRefreshMiddleware:
    """`refresh_web_session` for /app pages only. Starlette's function middleware (BaseHTTPMiddleware)
    runs every request through a task group and memory streams; API calls, which never carry a web
    session, pass straight through instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pages = BaseHTTPMiddleware(app, dispatch=refresh_web_session)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/app"):
            await self.pages(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a session token `verify_token` has already verified (for display and for
    choosing what a page offers; the services check the token themselves)."""
    try:
        return unverified_segment(token, 1)
    except ValueError:
        return {}


@router.api_route("/logout", methods=["GET", "POST"])
async def logout(request: Request, caller: AnonymousDep, services: BackendsDep) -> Response:
    response = RedirectResponse("/login", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    session = cookies.session(request)
    if session is not None and session.refresh_token:
        settings: GatewaySettings = request.app.state.settings
        # Revoking the refresh token ends its whole family: a copied cookie is useless after logout.
        with contextlib.suppress(UpstreamError):
            await caller.call(services.identity.RevokeToken, pb.RevokeTokenRequest(
                token=session.refresh_token, token_type_hint="refresh_token", client_id=settings.web_client_id,
            ))
    cookies.clear_session(response)
    return response


@router.get("/lang/{tag}")
async def set_language(request: Request, tag: str, next: str | None = None) -> Response:
    locale = parse_locale(tag)
    if locale is None:
        raise Problem(404, "not_found")
    response = RedirectResponse(safe_next(next), status_code=303)
    set_language_cookie(request, response, locale)
    return response


def set_language_cookie(request: Request, response: Response, locale: str) -> None:
    settings: GatewaySettings = request.app.state.settings
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, path="/", httponly=True, samesite="lax",
                        secure=settings.secure_cookies)
