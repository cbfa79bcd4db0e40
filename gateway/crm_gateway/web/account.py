"""/app/account/security: the signed-in user's password and two-step verification (TOTP).

- change the password (current + new + confirmation; the tenant's policy applies);
- set up TOTP: a QR code and the secret, confirmed with a code from the app, then the 10
  recovery codes, shown once; turn it off (TOTP or recovery code) or replace the recovery codes;
- the user's sign-in sessions (device in plain words, ip, last active, "this device") with a
  sign-out button each and "sign out all other devices".
Every form carries the session's CSRF token; the pages call identity with the session's token."""

from __future__ import annotations

import hmac
from dataclasses import replace
from typing import Any, Final
from zoneinfo import ZoneInfo, available_timezones

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.i18n import N_, Locale, messages
from crm_gateway.oauth.login_steps import qr_data_uri
from crm_gateway.problem_texts import PROBLEM_DETAILS
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, catalogue_text, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import LoginRequired, session_caller, set_language_cookie
from crm_gateway.web.common import SessionDep, flash_message, flash_text, problem_text, user_label
from crm_gateway.web.devices import describe_device
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import LANG_COOKIE, page_locale, render
from crm_proto.crm.identity.v1 import account_security_pb2 as security_pb
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(prefix="/app/account", include_in_schema=False)

PAGE: Final = "/app/account/security"
# The zones offered: IANA's Area/Location names (no legacy aliases such as "PRC" or "Etc/GMT-8").
TIME_ZONES: Final = tuple(sorted(z for z in available_timezones()
                                 if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def _user_label(session: WebSession, locale: Locale) -> str:
    return user_label(session, locale)


async def security_page(
    request: Request,
    session: WebSession,
    services: Any,
    *,
    status_code: int = 200,
    password_errors: dict[str, str] | None = None,
    password_error: str | None = None,
    enrollment: dict[str, str] | None = None,
    mfa_errors: dict[str, str] | None = None,
    mfa_error: str | None = None,
    recovery_codes: list[str] | None = None,
    recovery_regenerated: bool = False,
    manage_errors: dict[str, str] | None = None,
    sessions_error: str | None = None,
    preference_values: dict[str, str] | None = None,
    preference_errors: dict[str, str] | None = None,
) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    state: Any = None
    error = None
    sessions: list[dict[str, Any]] = []
    zone = formatting.viewer_zone(request, locale)
    preferences: dict[str, str] = {"locale": session.locale, "time_zone": session.time_zone}
    try:
        state = await caller.call(services.identity.GetMySecurity, pb.GetMySecurityRequest())
        mine = await caller.call(services.identity.GetMyPreferences, pb.GetMyPreferencesRequest())
        preferences = {"locale": mine.locale, "time_zone": mine.time_zone}
        listed = await caller.call(services.account_security.ListMySessions, security_pb.ListMySessionsRequest())
        sessions = [session_row(s, locale, zone) for s in listed.items]
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        error = problem_text(exc, locale)
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    changed = timestamp(state.password_changed_at) if state is not None else None
    context = {
        "session": session,
        "user_label": _user_label(session, locale),
        "state": state,
        "error": error,
        "password_changed": formatting.datetime_text(changed, zone, locale) if changed else None,
        "zone_label": formatting.zone_label(zone, locale),
        "preferences": preference_values or preferences,
        "preference_errors": preference_errors or {},
        "time_zones": TIME_ZONES,
        "tenant_zone": session.tenant_zone or formatting.DEFAULT_ZONES[locale],
        "password_errors": password_errors or {},
        "password_error": password_error,
        "enrollment": enrollment,
        "qr": qr_data_uri(enrollment["uri"]) if enrollment else "",
        "totp_secret": enrollment["secret"] if enrollment else "",
        "field_errors": mfa_errors or {},
        "mfa_error": mfa_error,
        "recovery_codes": recovery_codes or [],
        "recovery_regenerated": recovery_regenerated,
        "manage_errors": manage_errors or {},
        "sessions": sessions,
        "sessions_error": sessions_error,
        "flash": flash_text(flash, locale),
    }
    response = render(request, "account_security.html", context, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


def session_row(item: Any, locale: Locale, zone: ZoneInfo) -> dict[str, Any]:
    """One session as the page shows it: the device in plain words, ip, last active."""
    return {"id": item.id, "device": describe_device(item.user_agent, locale), "user_agent": item.user_agent,
            "ip": item.ip.split(",")[0].strip() if item.ip else "", "client_id": item.client_id,
            "last_active": formatting.local_time(item.last_used_at, zone, locale), "current": item.current}


def _raise_if_signed_out(request: Request, exc: UpstreamError) -> None:
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired(PAGE) from exc


def _csrf_ok(form: Any, session: WebSession) -> bool:
    return hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode())


def _status(exc: UpstreamError) -> int:
    return 400 if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT else GRPC_TO_HTTP.get(
        exc.error.status, INTERNAL)[0]


@router.get("/security")
async def show(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await security_page(request, session, services)


@router.post("/security/password")
async def change_password(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return await security_page(request, session, services, status_code=403,
                                   password_error=messages(locale).gettext("The form expired; please submit it again."))
    values = {k: str(form.get(k) or "") for k in ("current_password", "new_password", "confirm_password")}
    missing = {k: messages(locale).gettext("Required.") for k, v in values.items() if not v}
    if missing:
        return await security_page(request, session, services, status_code=400, password_errors=missing)
    if values["new_password"] != values["confirm_password"]:
        return await security_page(request, session, services, status_code=400,
                                   password_errors={
                                       "confirm_password": messages(locale).gettext("The two passwords differ.")})
    try:
        await session_caller(request, session).call(services.identity.ChangeMyPassword, pb.ChangeMyPasswordRequest(
            current_password=values["current_password"], new_password=values["new_password"],
        ))
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        if exc.error.code == "login_locked":
            minutes = exc.error.extra.get("retry_after_minutes", 1)
            return await security_page(request, session, services, status_code=429,
                                       password_error=messages(locale).gettext(
                                           "Too many attempts. Try again in %(minutes)s minute(s).", minutes=minutes))
        errors = localise_field_errors(exc.error.errors, locale)
        placed = {e["field"]: e["message"] for e in errors}
        return await security_page(request, session, services, status_code=_status(exc), password_errors=placed,
                                   password_error=None if placed else problem_text(exc, locale))
    response = RedirectResponse(PAGE, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("Your password was changed.")))
    return response


@router.post("/security/mfa")
async def start_mfa(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return await security_page(request, session, services, status_code=403,
                                   mfa_error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        reply = await session_caller(request, session).call(
            services.identity.StartTotpEnrollment, pb.StartTotpEnrollmentRequest()
        )
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        return await security_page(request, session, services, status_code=_status(exc),
                                   mfa_error=problem_text(exc, locale))
    return await security_page(request, session, services, enrollment={"secret": reply.secret, "uri": reply.uri})


@router.post("/security/mfa/confirm")
async def confirm_mfa(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    secret, uri = str(form.get("totp_secret") or ""), str(form.get("totp_uri") or "")
    # Shown again on a wrong code (the secret is the user's own, already on their screen).
    enrollment = {"secret": secret, "uri": uri} if uri.startswith("otpauth://") else None
    if not _csrf_ok(form, session):
        return await security_page(request, session, services, status_code=403,
                                   mfa_error=messages(locale).gettext("The form expired; please submit it again."))
    code = str(form.get("code") or "").strip()
    if not code:
        return await security_page(request, session, services, status_code=400, enrollment=enrollment,
                                   mfa_errors={"code": messages(locale).gettext("Required.")})
    try:
        reply = await session_caller(request, session).call(
            services.identity.ConfirmTotpEnrollment, pb.ConfirmTotpEnrollmentRequest(code=code)
        )
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
            return await security_page(request, session, services, status_code=400, enrollment=enrollment,
                                       mfa_errors={"code": messages(locale).gettext(
                                           "That code is wrong, expired or already used.")})
        return await security_page(request, session, services, status_code=_status(exc),
                                   mfa_error=problem_text(exc, locale))
    return await security_page(request, session, services, recovery_codes=list(reply.codes))


@router.post("/security/mfa/disable")
async def disable_mfa(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """Turn TOTP off with a current code or a recovery code."""
    return await _manage_mfa(request, session, services, disable=True)


@router.post("/security/mfa/recovery-codes")
async def regenerate_codes(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """New recovery codes for a current TOTP code; shown once, the old ones stop working."""
    return await _manage_mfa(request, session, services, disable=False)


async def _manage_mfa(request: Request, session: WebSession, services: Any, *, disable: bool) -> Response:
    form = await request.form()
    locale = page_locale(request)
    field = "disable_code" if disable else "regenerate_code"
    if not _csrf_ok(form, session):
        return await security_page(request, session, services, status_code=403,
                                   mfa_error=messages(locale).gettext("The form expired; please submit it again."))
    code = str(form.get("code") or "").strip()
    if not code:
        return await security_page(request, session, services, status_code=400,
                                   manage_errors={field: messages(locale).gettext("Required.")})
    caller = session_caller(request, session)
    try:
        if disable:
            await caller.call(services.account_security.DisableTotp, security_pb.DisableTotpRequest(code=code))
        else:
            reply = await caller.call(services.account_security.RegenerateRecoveryCodes,
                                      security_pb.RegenerateRecoveryCodesRequest(code=code))
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        if exc.error.code == "login_locked":
            minutes = exc.error.extra.get("retry_after_minutes", 1)
            return await security_page(request, session, services, status_code=429,
                                       mfa_error=messages(locale).gettext(
                                           "Too many attempts. Try again in %(minutes)s minute(s).", minutes=minutes))
        if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
            return await security_page(request, session, services, status_code=400,
                                       manage_errors={field: messages(locale).gettext(
                                           "That code is wrong, expired or already used.")})
        return await security_page(request, session, services, status_code=_status(exc),
                                   mfa_error=_problem(exc, locale))
    if not disable:
        return await security_page(request, session, services, recovery_codes=list(reply.codes),
                                   recovery_regenerated=True)
    response = RedirectResponse(PAGE, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("Two-step verification is off.")))
    return response


def _problem(exc: UpstreamError, locale: Locale) -> str:
    """The localised message of a known code (e.g. mfa_required_by_policy), else the problem text."""
    return (catalogue_text(PROBLEM_DETAILS, exc.error.code, locale) if exc.error.code else None) or problem_text(exc,
                                                                                                                 locale)


@router.post("/security/sessions/{session_id}/revoke")
async def revoke_session(request: Request, session_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _revoke(request, session, services, session_id)


@router.post("/security/sessions/revoke-others")
async def revoke_other_sessions(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _revoke(request, session, services, None)


async def _revoke(request: Request, session: WebSession, services: Any, session_id: str | None) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return await security_page(request, session, services, status_code=403,
                                   sessions_error=messages(locale).gettext("The form expired; please submit it again."))
    caller = session_caller(request, session)
    try:
        if session_id is None:
            await caller.call(services.account_security.RevokeMyOtherSessions,
                              security_pb.RevokeMyOtherSessionsRequest())
        else:
            await caller.call(services.account_security.RevokeMySession,
                              security_pb.RevokeMySessionRequest(id=session_id))
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        return await security_page(request, session, services, status_code=_status(exc),
                                   sessions_error=_problem(exc, locale))
    response = RedirectResponse(f"{PAGE}#sessions", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    done = N_("That device was signed out.") if session_id else N_("All your other devices were signed out.")
    cookies.flash(response, flash_message(done))
    return response


@router.post("/preferences")
async def save_preferences(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """The user's own language and time zone (identity keeps them; tokens carry them). They apply
    at once: the session cookie and the language cookie are rewritten here."""
    form = await request.form()
    locale = page_locale(request)
    values = {k: str(form.get(k) or "").strip() for k in ("locale", "time_zone")}
    if not _csrf_ok(form, session):
        return await security_page(request, session, services, status_code=403, preference_values=values,
                                   preference_errors={"form": messages(locale).gettext(
                                       "The form expired; please submit it again.")})
    try:
        saved = await session_caller(request, session).call(
            services.identity.UpdateMyPreferences, pb.UpdateMyPreferencesRequest(**values))
    except UpstreamError as exc:
        _raise_if_signed_out(request, exc)
        errors = {e["field"]: e["message"] for e in localise_field_errors(exc.error.errors, locale)}
        return await security_page(request, session, services, status_code=_status(exc), preference_values=values,
                                   preference_errors=errors or {"form": problem_text(exc, locale)})
    response = RedirectResponse(f"{PAGE}#preferences", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.write_session(response, replace(session, locale=saved.locale, time_zone=saved.time_zone))
    if saved.locale:
        set_language_cookie(request, response, saved.locale)
    else:  # the browser's language again
        response.delete_cookie(LANG_COOKIE, path="/")
    cookies.flash(response, flash_message(N_("Your language and time zone were saved.")))
    return response
