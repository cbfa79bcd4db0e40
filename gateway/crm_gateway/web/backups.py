"""/app/settings/backup: a tenant admin takes a backup of all of the company's data, watches its
progress (the page refreshes itself while one runs), cancels or resumes it, and downloads the
archive for 24 hours (docs/tenancy.md#backups-for-the-tenant-admin). The same gRPC operations as
`/v1/tenant/backups`, with the session's token: identity refuses anyone without `tenant:backup`."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.tenant_backups import backup_out, download_response
from crm_gateway.i18n import N_, Msg
from crm_gateway.problems import UpstreamError
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebSession
from crm_gateway.web.settings import Form, expired, page, saved, status_of
from crm_proto.crm.identity.v1 import backups_pb2 as pb

router = APIRouter(prefix="/app/settings/backup", include_in_schema=False)
HOME: Final = "/app/settings/backup"
ACTIVE: Final = ("queued", "running", "cancelling")


async def backup_page(request: Request, session: WebSession, services: Any, form: Form | None = None,
                      status_code: int = 200) -> Response:
    caller = session_caller(request, session)
    backups: list[Any] = []
    error = None
    try:
        reply = await caller.call(services.tenant_backups.ListBackups, pb.ListBackupsRequest())
        backups = [backup_out(b) for b in reply.backups]
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, caller.locale)
    return page(request, session, "settings_backup.html", "backup", {
        "backups": backups, "form": form or Form(), "load_error": error,
        "running": any(b.status in ACTIVE for b in backups),
    }, status_code=status_code)


@router.get("")
async def backups(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await backup_page(request, session, services)


async def _act(request: Request, session: WebSession, services: Any, method: str, backup_id: str,
               done: Msg) -> Response:
    raw = await request.form()
    caller = session_caller(request, session)
    if not csrf_ok(raw, session):
        return await backup_page(request, session, services, Form(error=expired(caller.locale)), 403)
    try:
        if method == "StartBackup":
            await caller.call(services.tenant_backups.StartBackup, pb.StartBackupRequest())
        else:
            await caller.call(getattr(services.tenant_backups, method), pb.BackupIdRequest(id=backup_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await backup_page(request, session, services, Form(error=problem_text(exc, caller.locale)),
                                 status_of(exc))
    return saved(request, HOME, done)


@router.post("")
async def start_backup(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _act(request, session, services, "StartBackup", "", N_("The backup has started."))


@router.post("/{backup_id}/cancel")
async def cancel_backup(request: Request, backup_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _act(request, session, services, "CancelBackup", backup_id, N_("The backup is being stopped."))


@router.post("/{backup_id}/resume")
async def resume_backup(request: Request, backup_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _act(request, session, services, "ResumeBackup", backup_id, N_("The backup continues."))


@router.get("/{backup_id}/download")
async def download(request: Request, backup_id: str, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    try:
        return await download_response(caller, services, backup_id)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await backup_page(request, session, services, Form(error=problem_text(exc, caller.locale)),
                                 status_of(exc))
