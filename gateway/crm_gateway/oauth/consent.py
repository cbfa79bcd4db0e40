"""The consent screen (RFC 6749 §4.1.1, RFC 9700 §4.16 says clients other than the platform's own
must not be authorized silently): after a successful sign-in for a third-party client, the user
sees the scopes it asked for, in words, and allows or denies.

Identity decides when consent is needed (`AuthorizeUser` returns a one-time `consent_ticket`
instead of a code) and remembers the answer per user, client and scopes, so each scope set is
asked once. The ticket is the only state; it travels in a hidden field and is spent by the
answer. Deny sends the browser back with `error=access_denied` (RFC 6749 §4.1.2.1)."""

from __future__ import annotations

from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.i18n import N_
from crm_gateway.oauth.authorize import (
    UNREACHABLE,
    AuthorizationRequest,
    LoginCsrf,
    Refused,
    refused_page,
    single_values,
    with_query,
)
from crm_gateway.problems import UpstreamError
from crm_gateway.web.labels import label
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(include_in_schema=False)

CONSENT_PATH: Final = "/oauth/authorize/consent"
CONSENT_FIELDS: Final = ("consent_ticket", "state", "decision", "csrf_token")


def scope_descriptions(scope: str, request: Request) -> list[dict[str, str]]:
    """Each scope in the user's language; a scope without a description shows its name."""
    locale = page_locale(request)
    return [
        {"name": name, "text": label("scope", name, locale)}
        for name in sorted(set(scope.split()))
    ]


def consent_page(request: Request, auth: AuthorizationRequest, client: Any, ticket: str, scope: str) -> Response:
    """Shown in place of the redirect when identity asks for consent (hooked into authorize.py)."""
    csrf: LoginCsrf = request.app.state.login_csrf
    nonce = csrf.nonce(request)
    context = {
        "client_name": client.name or client.client_id,
        "client_id": client.client_id,
        "scopes": scope_descriptions(scope, request),
        "consent_ticket": ticket,
        "state": auth.state,
        "csrf_token": csrf.token(nonce),
        "redirect_uri": auth.redirect_uri,
    }
    # form-action must allow the client's origin: the answer is a redirect there.
    response = render(request, "consent.html", context, form_targets=[auth.redirect_uri])
    csrf.set_cookie(response, nonce)
    return response


@router.post(CONSENT_PATH)
async def answer(request: Request, caller: AnonymousDep, services: BackendsDep) -> Response:
    form = await request.form()
    try:
        params = single_values(form.multi_items(), CONSENT_FIELDS)
        csrf: LoginCsrf = request.app.state.login_csrf
        if not csrf.valid(request, params.get("csrf_token", "")) or not params.get("consent_ticket"):
            raise Refused(N_("This request expired or was already answered. Start again from the application."), 400)
        decision = params.get("decision", "")
        if decision not in ("allow", "deny"):
            raise Refused(N_("Choose Allow or Deny."), 400)
        try:
            reply = await caller.call(services.identity.ResolveConsent, pb.ResolveConsentRequest(
                consent_ticket=params["consent_ticket"], allow=decision == "allow",
            ))
        except UpstreamError as exc:
            if exc.error.status in UNREACHABLE:
                raise Refused(N_("Sign-in is temporarily unavailable. Please try again shortly."), 503) from exc
            if exc.error.status in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
                raise Refused(N_("This request expired or was already answered. Start again from the application."),
                              400) from exc
            raise
    except Refused as refused:
        return refused_page(request, refused)
    issuer = request.app.state.settings.token_issuer
    # The redirect URI is the one identity bound to the ticket, never one the browser sent back.
    if reply.code:
        query = {"code": reply.code, "state": params.get("state", ""), "iss": issuer}
    else:
        query = {"error": "access_denied", "error_description": "the user denied the request",
                 "state": params.get("state", ""), "iss": issuer}
    return RedirectResponse(with_query(reply.redirect_uri, query), status_code=302,
                            headers={"Cache-Control": "no-store"})
