"""Invitations and user import in the web UI (identity's UserAdminService; docs/identity.md).

- `/invite/{token}` (public): the invitee sees the company and email and chooses a password; expired,
  used, revoked or unknown links get a page that says so (never a 500).
- `/app/invitations` (POST): the "Invite user" form of the users page; resend / revoke.
- `/app/users/import`: download the template, upload to `/app/user-imports` (dry run: a table of
  every row's errors; or import), then `/app/user-imports/{id}` shows the job's progress bar,
  refreshed every second with `<meta http-equiv="refresh">` (the pages' CSP allows no script)."""

from __future__ import annotations

import base64
import gzip
import hmac
from typing import Any, Final
from urllib.parse import quote

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile
from starlette.responses import Response

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.i18n import N_, NC_, Locale, Msg, messages
from crm_gateway.problem_texts import PROBLEM_DETAILS
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, catalogue_text, localise_field_errors
from crm_gateway.web.access_admin import _page as users_page_with
from crm_gateway.web.access_admin import _users_loader as users_loader
from crm_gateway.web.auth import LoginRequired, session_caller
from crm_gateway.web.common import SessionDep, flash_message, flash_text, problem_text
from crm_gateway.web.labels import label
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.identity.v1 import user_admin_pb2 as pb

router = APIRouter(include_in_schema=False)
STATE_KEYS: Final[dict[int, str]] = {
    pb.INVITATION_STATE_ACCEPTED: "accepted", pb.INVITATION_STATE_REVOKED: "revoked",
    pb.INVITATION_STATE_EXPIRED: "expired", pb.INVITATION_STATE_INVALID: "invalid",
}
# What the users page says after an invitation action (POST /app/invitations/{id}/{action}).
INVITATION_DONE: Final[dict[str, Msg]] = {
    "resend": N_("A new link was sent to %(email)s; the previous one no longer works."),
    "revoke": N_("The invitation of %(email)s was revoked."),
}
COLUMN_KEYS: Final = {"email": N_("Email"), "display_name": NC_("person", "Name"), "roles": N_("Roles"),
                      "team": N_("Team"), "file": N_("File")}
# A file checked by a dry run travels back in the confirm form (gzip + base64); it is validated
# again on import, so a changed one gains nothing.
MAX_CARRIED: Final = 600 * 1024


def _csrf_ok(form: Any, session: WebSession) -> bool:
    return hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode())


def _status(exc: UpstreamError) -> int:
    return GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]


def _message(exc: UpstreamError, locale: Locale) -> str:
    if exc.error.errors:
        return problem_text(exc, locale)
    return (catalogue_text(PROBLEM_DETAILS, exc.error.code, locale) if exc.error.code else None) or problem_text(exc,
                                                                                                                 locale)


def _done(path: str, request: Request, done: Msg, **params: str) -> Response:
    response = RedirectResponse(path, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(done, **params))
    return response


async def _call(request: Request, session: WebSession, method: Any, message: Any) -> Any:
    try:
        return await session_caller(request, session).call(method, message)
    except UpstreamError as exc:
        if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
            raise LoginRequired(request.url.path) from exc
        raise


# -- accept page (public) ---------------------------------------------------------------------------


def _gone(request: Request, state: int) -> Response:
    locale = page_locale(request)
    key = STATE_KEYS.get(state, "invalid")
    link = ("/app/customers", messages(locale).gettext("Sign in")) if key == "accepted" else None
    return message_page(request, label("invite_title", key, locale), label("invite_message", key, locale),
                        status_code=410, link=link)


def _accept_form(request: Request, token: str, preview: Any, *, error: str | None = None,
                 field_errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "invite_accept.html", {
        "token": token, "invite": preview, "error": error, "field_errors": field_errors or {},
    }, status_code=status_code)


@router.get("/invite/{token}")
async def accept_page(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    preview = await caller.call(services.user_admin.GetInvitationByToken, pb.InvitationTokenRequest(token=token))
    if preview.state != pb.INVITATION_STATE_PENDING:
        return _gone(request, preview.state)
    return _accept_form(request, token, preview)


@router.post("/invite/{token}")
async def accept(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    password = str(form.get("password") or "")
    preview = await caller.call(services.user_admin.GetInvitationByToken, pb.InvitationTokenRequest(token=token))
    if preview.state != pb.INVITATION_STATE_PENDING:
        return _gone(request, preview.state)
    if password != str(form.get("password_confirm") or ""):
        return _accept_form(request, token, preview, status_code=400,
                            field_errors={"password_confirm": messages(locale).gettext("The two passwords differ.")})
    try:
        reply = await caller.call(services.user_admin.AcceptInvitation,
                                  pb.AcceptInvitationRequest(token=token, password=password))
    except UpstreamError as exc:
        if exc.error.code == "invitation_not_pending":
            state = {"accepted": pb.INVITATION_STATE_ACCEPTED, "revoked": pb.INVITATION_STATE_REVOKED,
                     "expired": pb.INVITATION_STATE_EXPIRED}.get(str(exc.error.extra.get("state")),
                                                                  pb.INVITATION_STATE_INVALID)
            return _gone(request, state)
        if exc.error.status != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        errors = {e["field"]: e["message"] for e in localise_field_errors(exc.error.errors, locale)}
        return _accept_form(request, token, preview, field_errors=errors, status_code=400)
    return render(request, "invite_done.html", {"company": reply.tenant_slug, "email": reply.email,
                                                "tenant_name": preview.tenant_name})


# -- invitations on the users page ------------------------------------------------------------------


@router.post("/app/invitations")
async def invite(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(raw, session):
        return _done("/app/users", request, N_("The form expired; please submit it again."))
    email = str(raw.get("email") or "").strip()
    values: dict[str, Any] = {
        "email": email, "display_name": str(raw.get("display_name") or ""),
        "roles": [str(r) for r in raw.getlist("roles")], "team_id": str(raw.get("team_id") or ""),
    }
    try:
        await _call(request, session, services.user_admin.CreateInvitation, pb.CreateInvitationRequest(**values))
    except UpstreamError as exc:
        fields = {f"invite_{e['field']}": e["message"] for e in localise_field_errors(exc.error.errors, locale)}
        # The users page again, with the form's values and errors.
        return await users_page_with(request, session, "users.html", "/app/users", users_loader(services, locale),
                           status_code=_status(exc), values={f"invite_{k}": v for k, v in values.items()},
                           field_errors=fields, error=_message(exc, locale))
    return _done("/app/users", request, N_("Invitation sent to %(email)s."), email=email)


@router.post("/app/invitations/{invitation_id}/{action}")
async def change_invitation(request: Request, invitation_id: str, action: str, session: SessionDep,
                            services: BackendsDep) -> Response:
    raw = await request.form()
    if action not in ("resend", "revoke"):
        return _done("/app/users", request, N_("Unknown action."))
    if not _csrf_ok(raw, session):
        return _done("/app/users", request, N_("The form expired; please submit it again."))
    method = services.user_admin.ResendInvitation if action == "resend" else services.user_admin.RevokeInvitation
    try:
        reply = await _call(request, session, method, pb.InvitationIdRequest(id=invitation_id))
    except UpstreamError as exc:
        cookies: WebCookies = request.app.state.web_cookies
        response = RedirectResponse("/app/users", status_code=303)
        cookies.flash(response, flash_message(N_("Not done: %(reason)s"), **{"reason": _message(exc,
                                                                                                page_locale(request))}))
        return response
    return _done("/app/users", request, INVITATION_DONE[action], email=reply.email)


# -- import ---------------------------------------------------------------------------------------------


async def _import_page(request: Request, session: WebSession, *, status_code: int = 200, **context: Any) -> Response:
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    locale = page_locale(request)
    banner = flash_text(flash, locale)
    response = render(request, "user_import.html", {
        "session": session, "user_label": session.user_name, "active": "/app/users", "banner": banner,
        "report": None, "error": None, "carried": None, **context,
    }, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


@router.get("/app/users/import")
async def import_page(request: Request, session: SessionDep) -> Response:
    return await _import_page(request, session)


@router.get("/app/users/import/template")
async def import_template(request: Request, session: SessionDep, services: BackendsDep,
                          format: str = "xlsx") -> Response:
    try:
        reply = await _call(request, session, services.user_admin.GetUserImportTemplate,
                            pb.GetUserImportTemplateRequest(format=format, locale=page_locale(request)))
    except UpstreamError as exc:
        return await _import_page(request, session, status_code=_status(exc),
                                  error=_message(exc, page_locale(request)))
    disposition = f"attachment; filename=\"user-import-template.{format}\"; filename*=UTF-8''{quote(reply.filename)}"
    return Response(reply.content, media_type=reply.content_type,
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})


def _rows(reply_errors: Any, locale: Locale) -> list[dict[str, Any]]:
    return [{"row": e.row, "column": messages(locale).text(COLUMN_KEYS.get(e.column, N_("File"))), "code": e.code,
             "message": e.message} for e in reply_errors]


@router.post("/app/user-imports")
async def import_upload(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(form, session):
        return await _import_page(request, session, status_code=403,
                                  error=messages(locale).gettext("The form expired; please submit it again."))
    upload = form.get("file")
    carried = str(form.get("carried") or "")
    filename = str(form.get("filename") or "")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read()
        filename = upload.filename
    elif carried:
        try:
            content = gzip.decompress(base64.b64decode(carried, validate=True))
        except (ValueError, OSError):
            content = b""
    else:
        content = b""
    if not content:
        return await _import_page(request, session, status_code=400,
                                  error=messages(locale).gettext("Choose a file to upload."))
    dry_run = str(form.get("action") or "dry_run") != "import"
    try:
        reply = await _call(request, session, services.user_admin.ImportUsers, pb.ImportUsersRequest(
            filename=filename, content=content, dry_run=dry_run, locale=locale))
    except UpstreamError as exc:
        if exc.error.status != grpc.StatusCode.INVALID_ARGUMENT:
            return await _import_page(request, session, status_code=_status(exc), error=_message(exc, locale))
        rows: list[dict[str, Any]] = [
            {"row": _row_of(e["field"]), "column": messages(locale).text(COLUMN_KEYS.get(_column_of(e["field"]),
                                                                                         N_("File"))),
             "code": e["code"], "message": e["message"]}
            for e in exc.error.errors
        ]
        file_level = all(r["row"] == 0 for r in rows)
        return await _import_page(
            request, session, status_code=400, filename=filename,
            error=(" ".join(str(r["message"]) for r in rows) if file_level
                   else messages(locale).gettext("The file has errors; nothing was imported.")),
            report=None if file_level else {"total": 0, "errors": rows, "dry_run": False},
        )
    if not dry_run and reply.HasField("import"):
        return RedirectResponse(f"/app/user-imports/{getattr(reply, 'import').id}", status_code=303)
    packed = base64.b64encode(gzip.compress(content)).decode()
    return await _import_page(
        request, session, filename=filename,
        report={"total": reply.total_rows, "errors": _rows(reply.errors, locale), "dry_run": True},
        carried=packed if not reply.errors and len(packed) <= MAX_CARRIED else None,
    )


def _row_of(field: str) -> int:
    if field.startswith("rows["):
        try:
            return int(field[5:field.index("]")])
        except ValueError:
            return 0
    return 0


def _column_of(field: str) -> str:
    return field.rpartition(".")[2] if field.startswith("rows[") else field


@router.get("/app/user-imports/{import_id}")
async def import_progress(request: Request, import_id: str, session: SessionDep, services: BackendsDep) -> Response:
    locale = page_locale(request)
    try:
        job = await _call(request, session, services.user_admin.GetUserImport, pb.GetUserImportRequest(id=import_id))
    except UpstreamError as exc:
        return message_page(request, messages(locale).gettext("Import users"), _message(exc, locale),
                            status_code=_status(exc), link=("/app/users/import",
                                                            messages(locale).gettext("Import users")))
    percent = 100 if job.total == 0 else min(100, job.processed * 100 // job.total)
    finished = job.status in ("succeeded", "failed")
    return render(request, "user_import_progress.html", {
        "session": session, "user_label": session.user_name, "active": "/app/users", "job": job,
        "percent": percent, "finished": finished,
    })
