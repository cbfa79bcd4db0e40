"""The web UI's cookies, all HMAC-signed (crm_gateway.signing) and httpOnly:

- `crm_pkce`: the PKCE verifier, `state` and where to go after sign-in; lives for one sign-in
  (10 minutes), sent only to /auth/callback.
- `crm_session`: the access token and its refresh token, plus what the top bar shows and the
  CSRF token of the forms. Access tokens live 15 minutes; the gateway refreshes them as pages
  are used (rotating the refresh token), so the session lasts while the user is active, up to
  the refresh token's idle timeout.
- `crm_flash`: a one-shot message shown after a redirect (post/redirect/get).

SameSite=Lax: the callback is reached by a top-level redirect, which Lax allows; cross-site
form posts do not carry the session (and forms also carry a CSRF token).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from fastapi import Request
from starlette.responses import Response

from crm_gateway.settings import GatewaySettings
from crm_gateway.signing import Signer

PKCE_COOKIE: Final = "crm_pkce"
SESSION_COOKIE: Final = "crm_session"
FLASH_COOKIE: Final = "crm_flash"
PKCE_MAX_AGE: Final = 600
FLASH_MAX_AGE: Final = 60
# The refresh token's idle timeout in identity; the cookie need not outlive it.
SESSION_MAX_AGE: Final = 7 * 24 * 3600
# Refresh a little before expiry, so a page's several backend calls never straddle it.
REFRESH_MARGIN: Final = 60
CALLBACK_PATH: Final = "/auth/callback"


@dataclass(frozen=True)
class PendingLogin:
    verifier: str
    state: str
    next: str


@dataclass(frozen=True)
class WebSession:
    token: str
    expires_at: int
    refresh_token: str = ""
    tenant_name: str = ""
    user_name: str = ""
    roles: list[str] = field(default_factory=list)
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # The one time zone rule (web/formatting.py): the user's own zone (token claim `zoneinfo`), else
    # the tenant's (read at sign-in and at every token refresh); likewise the user's language.
    time_zone: str = ""
    tenant_zone: str = ""
    locale: str = ""

    @property
    def expired(self) -> bool:
        """The access token has expired (the session may still be refreshable)."""
        return time.time() >= self.expires_at

    @property
    def needs_refresh(self) -> bool:
        return bool(self.refresh_token) and time.time() >= self.expires_at - REFRESH_MARGIN


def safe_next(value: str | None, default: str = "/app/dashboard") -> str:
    """Only local paths: `next` must never send the browser to another site (open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


class WebCookies:
    def __init__(self, settings: GatewaySettings):
        secret = settings.session_secret.get_secret_value()
        self._pkce = Signer(secret, "pkce")
        self._session = Signer(secret, "session")
        self._flash = Signer(secret, "flash")
        self._secure = settings.secure_cookies

    def _set(self, response: Response, name: str, value: str, max_age: int, path: str = "/") -> None:
        response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                            secure=self._secure)

    # -- PKCE (one sign-in) ----------------------------------------------------------------
    def start_login(self, response: Response, pending: PendingLogin) -> None:
        self._set(response, PKCE_COOKIE, self._pkce.sign(asdict(pending), PKCE_MAX_AGE), PKCE_MAX_AGE,
                  path=CALLBACK_PATH)

    def pending_login(self, request: Request) -> PendingLogin | None:
        data = self._pkce.verify(request.cookies.get(PKCE_COOKIE))
        try:
            return PendingLogin(**data) if data else None
        except TypeError:
            return None

    def end_login(self, response: Response) -> None:
        response.delete_cookie(PKCE_COOKIE, path=CALLBACK_PATH, httponly=True, samesite="lax", secure=self._secure)

    # -- session ---------------------------------------------------------------------------
    def write_session(self, response: Response, session: WebSession) -> None:
        max_age = SESSION_MAX_AGE if session.refresh_token else max(1, session.expires_at - int(time.time()))
        self._set(response, SESSION_COOKIE, self._session.sign(asdict(session), max_age), max_age)

    def session(self, request: Request) -> WebSession | None:
        data = self._session.verify(request.cookies.get(SESSION_COOKIE))
        try:
            session = WebSession(**data) if data else None
        except TypeError:
            return None
        if session is None or (session.expired and not session.refresh_token):
            return None
        return session

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=self._secure)

    # -- flash -----------------------------------------------------------------------------
    def flash(self, response: Response, message: dict[str, Any]) -> None:
        self._set(response, FLASH_COOKIE, self._flash.sign(message, FLASH_MAX_AGE), FLASH_MAX_AGE)

    def read_flash(self, request: Request) -> dict[str, Any] | None:
        return self._flash.verify(request.cookies.get(FLASH_COOKIE))

    def clear_flash(self, request: Request, response: Response) -> None:
        if FLASH_COOKIE in request.cookies:
            response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="lax", secure=self._secure)


def current_session(request: Request) -> WebSession | None:
    """The signed-in session of this request, as the refresh middleware left it or from the cookie
    (pages that did not load one themselves: error pages, formatting)."""
    cookies: WebCookies | None = getattr(request.app.state, "web_cookies", None)
    session = getattr(request.state, "web_session", None) or (cookies.session(request) if cookies else None)
    return session if isinstance(session, WebSession) else None
