"""The authorization endpoint (RFC 6749 §4.1 with PKCE, RFC 7636; hardened per RFC 9700).

The gateway speaks the protocol and renders the login page; identity makes every decision that
grants anything (AuthorizeUser re-checks client, redirect URI, PKCE and credentials).

Order matters: until the client and its exact redirect URI are confirmed with identity, errors
are shown on our own page and the browser is sent nowhere (no open redirector). After that,
protocol errors go back to the client as `?error=...&state=...` (RFC 6749 §4.1.2.1).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Msg, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.settings import GatewaySettings
from crm_gateway.signing import Signer
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(include_in_schema=False)

AUTHORIZE_PATH: Final = "/oauth/authorize"
PROTOCOL_PARAMS: Final = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
)
LOGIN_FIELDS: Final = ("company", "email", "password", "csrf_token")
# A base64url SHA-256 digest without padding (RFC 7636 §4.2).
S256_CHALLENGE: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")
CSRF_COOKIE: Final = "crm_login_csrf"
CSRF_MAX_AGE: Final = 1800
UNREACHABLE: Final = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# Identity's OAuth error codes that belong to the client (sent back to its redirect URI).
# Identity's answer after too many failed attempts (users/login.py); carries `retry_after` seconds.
LOGIN_LOCKED: Final = "login_locked"
CLIENT_ERRORS: Final = frozenset({"invalid_request", "unauthorized_client", "invalid_scope", "access_denied"})


class Refused(Exception):
    """An error shown on our own page: the request cannot be trusted with a redirect."""

    def __init__(self, message: Msg, status_code: int, **params: object):
        super().__init__(message.msgid)
        self.message = message
        self.status_code = status_code
        self.params = params


class ClientError(Exception):
    """An error reported to the (verified) client through its redirect URI."""

    def __init__(self, error: str, description: str):
        super().__init__(error)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_type: str
    scope: str
    state: str
    code_challenge: str
    code_challenge_method: str

    @classmethod
    def from_params(cls, params: Mapping[str, str], redirect_uri: str) -> AuthorizationRequest:
        return cls(
            client_id=params.get("client_id", ""), redirect_uri=redirect_uri,
            response_type=params.get("response_type", ""), scope=params.get("scope", ""),
            state=params.get("state", ""), code_challenge=params.get("code_challenge", ""),
            code_challenge_method=params.get("code_challenge_method", ""),
        )


def single_values(items: Iterable[tuple[str, Any]], names: Iterable[str]) -> dict[str, str]:
    """RFC 6749 §3.1: a parameter may not be sent twice."""
    wanted = set(names)
    values: dict[str, str] = {}
    for key, value in items:
        if key in wanted:
            if key in values:
                raise Refused(N_("The request repeats a parameter (%(name)s)."), 400, name=key)
            values[key] = value if isinstance(value, str) else ""
    return values


def with_query(uri: str, params: Mapping[str, str]) -> str:
    """Adds parameters to a redirect URI, keeping any query it already has."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


class LoginCsrf:
    """Double-submit token for the login form: a random nonce in an httpOnly cookie, and the
    same nonce HMAC-signed in a hidden field. A cross-site page can post the form but can
    neither read the cookie nor forge the signed field (login CSRF, RFC 9700 §4.4.1.8)."""

    def __init__(self, settings: GatewaySettings):
        self._signer = Signer(settings.session_secret.get_secret_value(), "login-csrf")
        self._secure = settings.secure_cookies

    def nonce(self, request: Request) -> str:
        """The browser's current nonce (several tabs share one), or a new one."""
        nonce = request.cookies.get(CSRF_COOKIE) or ""
        return nonce if re.fullmatch(r"[A-Za-z0-9_-]{22,64}", nonce) else secrets.token_urlsafe(16)

    def token(self, nonce: str) -> str:
        return self._signer.sign({"n": nonce}, CSRF_MAX_AGE)

    def set_cookie(self, response: Response, nonce: str) -> None:
        response.set_cookie(CSRF_COOKIE, nonce, max_age=CSRF_MAX_AGE, path=AUTHORIZE_PATH, httponly=True,
                            samesite="strict", secure=self._secure)

    def valid(self, request: Request, token: str) -> bool:
        data = self._signer.verify(token)
        cookie = request.cookies.get(CSRF_COOKIE)
        if data is None or not cookie or not isinstance(data.get("n"), str):
            return False
        return hmac.compare_digest(data["n"].encode(), cookie.encode())


# -- checks -------------------------------------------------------------------------------------


async def verified_client(params: Mapping[str, str], caller: Caller, services: Any) -> tuple[Any, str]:
    """The client and the redirect URI to use, both confirmed by identity, or Refused."""
    client_id = params.get("client_id", "")
    if not client_id:
        raise Refused(N_("The request names no application."), 400)
    try:
        client = await caller.call(services.identity.GetClient, pb.GetClientRequest(client_id=client_id))
    except UpstreamError as exc:
        if exc.error.status in UNREACHABLE:
            raise Refused(N_("Sign-in is temporarily unavailable. Please try again shortly."), 503) from exc
        if exc.error.status in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            raise Refused(N_("The application that sent you here is not registered."), 400) from exc
        raise
    registered = list(client.redirect_uris)
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri and len(registered) == 1:
        redirect_uri = registered[0]  # RFC 6749 §3.1.2.3: optional when only one is registered
    if redirect_uri not in registered:  # exact string match, RFC 9700 §4.1.3
        raise Refused(N_("The application's return address is not registered for it, so we will not send you there."),
                      400)
    return client, redirect_uri


def check_protocol(auth: AuthorizationRequest, client: Any) -> None:
    if auth.response_type != "code":
        raise ClientError("unsupported_response_type", "only response_type=code is supported")
    if "authorization_code" not in client.grant_types:
        raise ClientError("unauthorized_client", "this client may not use the authorization code grant")
    if not auth.code_challenge:
        raise ClientError("invalid_request", "code_challenge is required (PKCE)")
    if auth.code_challenge_method != "S256":
        raise ClientError("invalid_request", "code_challenge_method must be S256")
    if not S256_CHALLENGE.match(auth.code_challenge):
        raise ClientError("invalid_request", "code_challenge must be a base64url SHA-256 digest")


# -- responses ------------------------------------------------------------------------------------


def error_redirect(request: Request, auth: AuthorizationRequest, error: ClientError) -> RedirectResponse:
    target = with_query(auth.redirect_uri, {
        "error": error.error, "error_description": error.description, "state": auth.state,
        "iss": request.app.state.settings.token_issuer,
    })
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


def refused_page(request: Request, refused: Refused) -> Response:
    locale = page_locale(request)
    return message_page(
        request, messages(locale).gettext("Cannot continue sign-in"),
        messages(locale).text(refused.message, **refused.params),
        status_code=refused.status_code,
    )


def login_page(
    request: Request,
    auth: AuthorizationRequest,
    client: Any,
    *,
    status_code: int = 200,
    error: Msg | None = None,
    values: Mapping[str, str] | None = None,
    field_errors: Mapping[str, str] | None = None,
    error_params: Mapping[str, object] | None = None,
) -> Response:
    locale = page_locale(request)
    csrf: LoginCsrf = request.app.state.login_csrf
    nonce = csrf.nonce(request)
    context = {
        "hidden": asdict(auth),
        "client_name": client.name or client.client_id,
        "scopes": auth.scope.split(),
        "error": messages(locale).text(error, **(error_params or {})) if error else None,
        "values": dict(values or {}),
        "field_errors": dict(field_errors or {}),
        "csrf_token": csrf.token(nonce),
        # Where the language switch returns to: this request as a GET, whether it came as one or not.
        "here": f"{AUTHORIZE_PATH}?{urlencode({k: v for k, v in asdict(auth).items() if v})}",
    }
    response = render(request, "authorize.html", context, status_code=status_code, form_targets=[auth.redirect_uri])
    csrf.set_cookie(response, nonce)
    return response


# -- routes ---------------------------------------------------------------------------------------


@router.get(AUTHORIZE_PATH)
async def authorization_page(request: Request, caller: AnonymousDep, services: BackendsDep) -> Response:
    try:
        params = single_values(request.query_params.multi_items(), PROTOCOL_PARAMS)
        client, redirect_uri = await verified_client(params, caller, services)
    except Refused as refused:
        return refused_page(request, refused)
    auth = AuthorizationRequest.from_params(params, redirect_uri)
    try:
        check_protocol(auth, client)
    except ClientError as error:
        return error_redirect(request, auth, error)
    return login_page(request, auth, client)


@router.post(AUTHORIZE_PATH)
async def authorize(request: Request, caller: AnonymousDep, services: BackendsDep) -> Response:
    form = await request.form()
    try:
        params = single_values(form.multi_items(), (*PROTOCOL_PARAMS, *LOGIN_FIELDS))
        # Hidden fields are only what the browser sent back: verify them all over again.
        client, redirect_uri = await verified_client(params, caller, services)
    except Refused as refused:
        return refused_page(request, refused)
    auth = AuthorizationRequest.from_params(params, redirect_uri)
    try:
        check_protocol(auth, client)
    except ClientError as error:
        return error_redirect(request, auth, error)

    values = {"company": params.get("company", "").strip(), "email": params.get("email", "").strip()}
    csrf: LoginCsrf = request.app.state.login_csrf
    if not csrf.valid(request, params.get("csrf_token", "")):
        return login_page(request, auth, client, status_code=400, error=N_("This form expired. Please sign in again."),
                          values=values)
    missing = {name: messages(page_locale(request)).gettext("Required.")
               for name in ("company", "email", "password") if not params.get(name)}
    if missing:
        return login_page(request, auth, client, status_code=400, values=values, field_errors=missing)

    try:
        reply = await caller.call(services.identity.AuthorizeUser, pb.AuthorizeUserRequest(
            tenant_slug=values["company"], email=values["email"], password=params["password"],
            client_id=auth.client_id, redirect_uri=auth.redirect_uri, scope=auth.scope,
            code_challenge=auth.code_challenge, code_challenge_method=auth.code_challenge_method,
        ))
    except UpstreamError as exc:
        if exc.error.code in CLIENT_ERRORS:
            return error_redirect(request, auth, ClientError(exc.error.code, exc.error.message))
        if exc.error.status in UNREACHABLE:
            return login_page(request, auth, client, status_code=503,
                              error=N_("Sign-in is temporarily unavailable. Please try again shortly."), values=values)
        if exc.error.code == LOGIN_LOCKED:
            return locked_page(request, auth, client, exc, values)
        if exc.error.status in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT,
                                grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                                grpc.StatusCode.FAILED_PRECONDITION):
            # One message for every credential failure: which part was wrong is not revealed.
            return login_page(request, auth, client, status_code=400, error=N_("Wrong company, email or password."),
                              values=values)
        raise
    return after_sign_in(request, auth, client, reply)


def after_sign_in(request: Request, auth: AuthorizationRequest, client: Any, reply: Any) -> Response:
    """What follows a successful AuthorizeUser / ContinueLogin: the next sign-in step (first-login
    password, TOTP: oauth/login_steps.py), then consent (oauth/consent.py), then the code."""
    if reply.next_step:
        from crm_gateway.oauth.login_steps import step_page  # the steps build on this module

        return step_page(request, auth, client, reply)
    if reply.consent_ticket:  # a third-party client the user has not approved these scopes for
        from crm_gateway.oauth.consent import consent_page  # consent builds on this module

        return consent_page(request, auth, client, reply.consent_ticket, reply.scope)
    target = with_query(auth.redirect_uri, {
        "code": reply.code, "state": auth.state, "iss": request.app.state.settings.token_issuer,
    })
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


def locked_page(
    request: Request, auth: AuthorizationRequest, client: Any, exc: UpstreamError, values: Mapping[str, str]
) -> Response:
    """Too many failed attempts (the same answer whether the email exists or not)."""
    retry_after = exc.error.extra.get("retry_after")
    seconds = int(retry_after) if isinstance(retry_after, int | float) else 60
    response = login_page(request, auth, client, status_code=429,
                          error=N_("Too many attempts. Try again in %(minutes)s minute(s)."), values=values,
                          error_params={"minutes": max(1, -(-seconds // 60))})
    response.headers["Retry-After"] = str(seconds)
    return response
