"""The sign-in steps between the password and the code (identity decides which: users/login.py):

- `mfa`: a code from the authenticator app, or a recovery code;
- `change_password`: the first sign-in of a user an admin created (or reset): a new password;
- `mfa_enroll`: the tenant requires TOTP for admins: scan the QR code, confirm with a code;
- `acknowledge_recovery_codes`: the new recovery codes, shown once.

Each step is a page whose form posts to LOGIN_STEP_PATH with the one-time login ticket and the
authorization request's parameters (re-verified like the login form's). Identity's answer is
handled by `authorize.after_sign_in`: the next step, consent, or the code."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Final
from urllib.parse import urlencode

import grpc
import segno
from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.i18n import N_, messages
from crm_gateway.oauth.authorize import (
    AUTHORIZE_PATH,
    LOGIN_LOCKED,
    PROTOCOL_PARAMS,
    UNREACHABLE,
    AuthorizationRequest,
    ClientError,
    LoginCsrf,
    Refused,
    after_sign_in,
    check_protocol,
    error_redirect,
    locked_page,
    login_page,
    refused_page,
    single_values,
    verified_client,
)
from crm_gateway.problems import UpstreamError, localise_field_errors
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(include_in_schema=False)

LOGIN_STEP_PATH: Final = f"{AUTHORIZE_PATH}/step"
STEPS: Final = ("mfa", "change_password", "mfa_enroll", "acknowledge_recovery_codes")
STEP_FIELDS: Final = (
    "login_ticket", "step", "csrf_token", "code", "new_password", "confirm_password", "totp_secret", "totp_uri",
)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (the page's CSP allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#111827"))


def step_page(
    request: Request,
    auth: AuthorizationRequest,
    client: Any,
    reply: Any,
    *,
    status_code: int = 200,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
) -> Response:
    """One step's page. `reply` is identity's AuthorizeUserResponse (or the same fields again when
    a step is shown a second time after bad input)."""
    csrf: LoginCsrf = request.app.state.login_csrf
    nonce = csrf.nonce(request)
    totp_uri = str(getattr(reply, "totp_uri", "") or "")
    context = {
        "hidden": asdict(auth),
        "client_name": client.name or client.client_id,
        "step": reply.next_step,
        "login_ticket": reply.login_ticket,
        "totp_secret": str(getattr(reply, "totp_secret", "") or ""),
        "totp_uri": totp_uri,
        "qr": qr_data_uri(totp_uri) if totp_uri else "",
        "recovery_codes": list(getattr(reply, "recovery_codes", []) or []),
        "error": error,
        "field_errors": field_errors or {},
        "csrf_token": csrf.token(nonce),
        "action": LOGIN_STEP_PATH,
        # The language switch restarts the sign-in (a GET of the authorize URL) in the other language.
        "here": f"{AUTHORIZE_PATH}?{urlencode({k: v for k, v in asdict(auth).items() if v})}",
    }
    response = render(request, "login_step.html", context, status_code=status_code,
                      form_targets=[auth.redirect_uri])
    csrf.set_cookie(response, nonce)
    return response


class _Shown:
    """The fields a step page needs, rebuilt from the form when the step is shown again."""

    def __init__(self, params: dict[str, str]):
        self.next_step = params.get("step", "")
        self.login_ticket = params.get("login_ticket", "")
        self.totp_secret = params.get("totp_secret", "")
        self.totp_uri = params.get("totp_uri", "") if params.get("totp_uri", "").startswith("otpauth://") else ""
        self.recovery_codes: list[str] = []


@router.post(LOGIN_STEP_PATH)
async def continue_sign_in(request: Request, caller: AnonymousDep, services: BackendsDep) -> Response:
    form = await request.form()
    try:
        params = single_values(form.multi_items(), (*PROTOCOL_PARAMS, *STEP_FIELDS))
        client, redirect_uri = await verified_client(params, caller, services)
    except Refused as refused:
        return refused_page(request, refused)
    auth = AuthorizationRequest.from_params(params, redirect_uri)
    try:
        check_protocol(auth, client)
    except ClientError as error:
        return error_redirect(request, auth, error)
    locale = page_locale(request)
    shown = _Shown(params)
    csrf: LoginCsrf = request.app.state.login_csrf
    if shown.next_step not in STEPS or not shown.login_ticket or not csrf.valid(request, params.get("csrf_token", "")):
        return login_page(request, auth, client, status_code=400, error=N_("This form expired. Please sign in again."))

    if shown.next_step == "change_password":
        missing = {name: messages(locale).gettext("Required.")
                   for name in ("new_password", "confirm_password") if not params.get(name)}
        if missing:
            return step_page(request, auth, client, shown, status_code=400, field_errors=missing)
        if params["new_password"] != params["confirm_password"]:
            return step_page(request, auth, client, shown, status_code=400,
                             field_errors={"confirm_password": messages(locale).gettext("The two passwords differ.")})
    if shown.next_step in ("mfa", "mfa_enroll") and not params.get("code", "").strip():
        return step_page(request, auth, client, shown, status_code=400,
                         field_errors={"code": messages(locale).gettext("Required.")})

    try:
        reply = await caller.call(services.identity.ContinueLogin, pb.ContinueLoginRequest(
            login_ticket=shown.login_ticket, step=shown.next_step, client_id=auth.client_id,
            redirect_uri=auth.redirect_uri, new_password=params.get("new_password", ""),
            code=params.get("code", "").strip(),
        ))
    except UpstreamError as exc:
        if exc.error.status in UNREACHABLE:
            return step_page(request, auth, client, shown, status_code=503,
                             error=messages(locale).gettext(
                                 "Sign-in is temporarily unavailable. Please try again shortly."))
        if exc.error.code == LOGIN_LOCKED:
            return locked_page(request, auth, client, exc, {})
        if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
            errors = localise_field_errors(exc.error.errors, locale)
            placed = {e["field"]: e["message"] for e in errors}
            if "code" in placed:  # one clear sentence for a wrong code, in the page's language
                placed["code"] = messages(locale).gettext("That code is wrong, expired or already used.")
            return step_page(request, auth, client, shown, status_code=400, field_errors=placed)
        if exc.error.status in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.FAILED_PRECONDITION,
                                grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS):
            return login_page(request, auth, client, status_code=400,
                              error=N_("This sign-in expired. Please sign in again."))
        raise
    return after_sign_in(request, auth, client, reply)
