"""/app/api-clients: tenant admins list, create, rotate and revoke the tenant's API clients. A new
or rotated secret is shown once, on the page that answers the form (never put in a cookie or a
redirect), in a read-only box to copy from. Pages call identity with the session's token, so
`clients:manage` is enforced by identity as for the REST API."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import LoginRequired, session_caller
from crm_gateway.web.common import SessionDep, flash_message, flash_text, problem_text, user_label
from crm_gateway.web.labels import label
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import page_locale, render
from crm_platform.auth import TENANT_SCOPES
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/api-clients"
KINDS: Final = ("confidential", "public")
GRANTS: Final = ("client_credentials", "authorization_code")


@dataclass
class Shown:
    """A secret to show once, and for which client."""

    client_name: str
    client_id: str
    secret: str
    rotated: bool = False


@dataclass
class Form:
    values: dict[str, Any] = field(default_factory=lambda: {
        "kind": "confidential", "grant_types": ["client_credentials"], "scopes": [], "redirect_uris": "",
    })
    field_errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def scope_label(name: str, locale: Locale) -> str:
    return label("scope", name, locale)


def client_row(message: Any, locale: Locale) -> dict[str, Any]:
    created = timestamp(message.created_at)
    revoked = timestamp(message.revoked_at)
    return {
        "client_id": message.client_id, "name": message.name, "kind": message.kind,
        "kind_label": label("clients.kind", message.kind, locale),
        "grant_types": list(message.grant_types),
        "scopes": [{"name": s, "text": scope_label(s, locale)} for s in message.scopes],
        "created": formatting.on(created, locale),
        "created_full": formatting.at(created, locale),
        "revoked": formatting.at(revoked, locale),
    }


def _signed_out(request: Request, exc: UpstreamError) -> None:
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired(PAGE) from exc


def _csrf_ok(form: Any, session: WebSession) -> bool:
    return hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode())


async def clients_page(
    request: Request,
    session: WebSession,
    services: Any,
    *,
    status_code: int = 200,
    form: Form | None = None,
    shown: Shown | None = None,
    banner: str | None = None,
    error: str | None = None,
) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    rows: list[dict[str, Any]] = []
    list_error = None
    try:
        reply = await caller.call(services.identity.ListClients, pb.ListClientsRequest())
        rows = [client_row(c, locale) for c in reply.items]
    except UpstreamError as exc:
        _signed_out(request, exc)
        list_error = problem_text(exc, locale)
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    context = {
        "session": session,
        "user_label": user_label(session, locale),
        "rows": rows,
        "list_error": list_error,
        "form": form or Form(),
        "kinds": KINDS,
        "grants": GRANTS,
        "all_scopes": [{"name": s.value, "text": scope_label(s.value, locale)} for s in TENANT_SCOPES],
        "shown": shown,
        "banner": banner or (flash_text(flash, locale)),
        "error": error,
    }
    response = render(request, "api_clients.html", context, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


def _status(exc: UpstreamError) -> int:
    if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
        return 400
    return GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]


@router.get("/api-clients")
async def list_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await clients_page(request, session, services)


@router.post("/api-clients")
async def create(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    values: dict[str, Any] = {
        "name": str(raw.get("name") or "").strip(),
        "kind": str(raw.get("kind") or "confidential"),
        "grant_types": [str(v) for v in raw.getlist("grant_types")],
        "scopes": [str(v) for v in raw.getlist("scopes")],
        "redirect_uris": str(raw.get("redirect_uris") or ""),
    }
    if not _csrf_ok(raw, session):
        return await clients_page(request, session, services, status_code=403,
                                  form=Form(values, error=messages(locale).gettext(
                                      "The form expired; please submit it again.")))
    redirect_uris = [line.strip() for line in values["redirect_uris"].splitlines() if line.strip()]
    caller: Caller = session_caller(request, session)
    try:
        reply = await caller.call(services.identity.CreateClient, pb.CreateClientRequest(
            name=values["name"], kind=values["kind"], grant_types=values["grant_types"],
            redirect_uris=redirect_uris, scopes=values["scopes"],
        ))
    except UpstreamError as exc:
        _signed_out(request, exc)
        errors = localise_field_errors(exc.error.errors, locale)
        placed = ("name", "kind", "grant_types", "redirect_uris", "scopes")
        field_errors = {e["field"]: e["message"] for e in errors if e["field"] in placed}
        error = (messages(locale).gettext("Please correct the highlighted fields.") if field_errors
                 else problem_text(exc, locale))
        return await clients_page(request, session, services, status_code=_status(exc),
                                  form=Form(values, field_errors, error))
    shown = Shown(reply.client.name, reply.client.client_id, reply.client_secret) if reply.client_secret else None
    banner = messages(locale).gettext("API client %(name)s created.", name=reply.client.name)
    return await clients_page(request, session, services, status_code=201, shown=shown, banner=banner)


@router.post("/api-clients/{client_id}/rotate-secret")
async def rotate(request: Request, client_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(raw, session):
        return await clients_page(request, session, services, status_code=403,
                                  error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        reply = await session_caller(request, session).call(
            services.identity.RotateClientSecret, pb.RotateClientSecretRequest(client_id=client_id))
    except UpstreamError as exc:
        _signed_out(request, exc)
        return await clients_page(request, session, services, status_code=_status(exc),
                                  error=problem_text(exc, locale))
    shown = Shown(reply.client.name, reply.client.client_id, reply.client_secret, rotated=True)
    return await clients_page(request, session, services, shown=shown)


@router.post("/api-clients/{client_id}/revoke")
async def revoke(request: Request, client_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(raw, session):
        return await clients_page(request, session, services, status_code=403,
                                  error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        reply = await session_caller(request, session).call(
            services.identity.RevokeClient, pb.RevokeClientRequest(client_id=client_id))
    except UpstreamError as exc:
        _signed_out(request, exc)
        return await clients_page(request, session, services, status_code=_status(exc),
                                  error=problem_text(exc, locale))
    response = RedirectResponse(PAGE, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("API client %(name)s revoked; it can no longer get tokens."),
                                          **{"name": reply.name}))
    return response
