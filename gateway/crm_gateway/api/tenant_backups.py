"""/v1/tenant/backups: a tenant admin's backups of all of the tenant's data (HTTP <->
crm.identity.v1.TenantBackupService; docs/tenancy.md#backups-for-the-tenant-admin). Taking one is a
job (progress in rows, cancel, resume); the finished archive (`crm-tenant-export/1` ZIP) is zipped
here from identity's stored pages as it streams, for 24 hours; every download is audited."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from crm_gateway.api.common import BackendsDep, CallerDep, Resource, operation, timestamp
from crm_gateway.clients import Backends, Caller
from crm_platform.auth import Scope
from crm_platform.tenant_archive import zip_stream
from crm_proto.crm.identity.v1 import backups_pb2 as pb

router = APIRouter(prefix="/v1/tenant/backups", tags=["tenant"])
BACKUP_ID = Annotated[str, Path(max_length=64)]
_SCOPES = [Scope.TENANT_BACKUP]


class TenantBackup(Resource):
    id: str
    status: str = Field(description="queued, running, cancelling, cancelled, succeeded, failed or expired")
    progress_done: int = Field(description="Rows exported so far")
    progress_total: int = Field(description="Rows to export (counted when the job starts)")
    percent: int = Field(description="progress_done / progress_total, 0-100")
    rows: int = Field(description="Rows in the finished files")
    files: int = Field(description="Tables exported so far (one JSON-lines file each)")
    requested_by: str = Field(description="Who asked: a user id, or `client:<id>`")
    requested_by_name: str = Field(description="The user's display name (empty for API clients)")
    created_at: datetime | None
    finished_at: datetime | None = None
    expires_at: datetime | None = Field(None, description="After this the archive is deleted (24 h after it finished)")
    error: str = Field("", description="Why the last attempt failed (the job retries, then fails)")
    filename: str
    download_url: str | None = Field(None, description="Where to download the archive once `succeeded`")


class TenantBackupList(Resource):
    items: list[TenantBackup]


def backup_out(message: Any) -> TenantBackup:
    total = max(message.progress_total, 0)
    done = max(message.progress_done, 0)
    finished = message.status == "succeeded"
    return TenantBackup(
        id=message.id, status=message.status, progress_done=done, progress_total=total,
        percent=100 if finished else (0 if total == 0 else min(99, done * 100 // total)),
        rows=message.rows, files=message.files, requested_by=message.requested_by,
        requested_by_name=message.requested_by_name, created_at=timestamp(message.created_at),
        finished_at=timestamp(message.finished_at), expires_at=timestamp(message.expires_at), error=message.error,
        filename=message.filename, download_url=f"{router.prefix}/{message.id}/archive" if finished else None,
    )


@router.post("", response_model=TenantBackup, **operation(
    operation_id="createTenantBackup", summary="Back up all of the tenant's data (a job; 202 with its `Location`)",
    scopes=_SCOPES, errors=[409, 413], status_code=202,
    description="Customers, orders, custom fields and settings, tags, follow-ups, webhooks, users, roles, teams "
                "and the audit log, from every service, into one ZIP (`crm-tenant-export/1`). Nothing is "
                "suspended or erased. Sensitive customer fields stay encrypted and credentials are left out. "
                "409 `backup_in_progress` while another backup is being taken. Audited (`tenant.backup_started`)."))
async def create_backup(response: Response, caller: CallerDep, services: BackendsDep) -> TenantBackup:
    reply = await caller.call(services.tenant_backups.StartBackup, pb.StartBackupRequest())
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return backup_out(reply)


@router.get("", response_model=TenantBackupList, **operation(
    operation_id="listTenantBackups", summary="The tenant's backups, newest first (the last 50)", scopes=_SCOPES))
async def list_backups(caller: CallerDep, services: BackendsDep) -> TenantBackupList:
    reply = await caller.call(services.tenant_backups.ListBackups, pb.ListBackupsRequest())
    return TenantBackupList(items=[backup_out(b) for b in reply.backups])


@router.get("/{backup_id}", response_model=TenantBackup, **operation(
    operation_id="getTenantBackup", summary="A backup's progress and state", scopes=_SCOPES, errors=[404]))
async def get_backup(backup_id: BACKUP_ID, caller: CallerDep, services: BackendsDep) -> TenantBackup:
    return backup_out(await caller.call(services.tenant_backups.GetBackup, pb.BackupIdRequest(id=backup_id)))


@router.post("/{backup_id}:cancel", response_model=TenantBackup, **operation(
    operation_id="cancelTenantBackup", summary="Stop a backup after its current page", scopes=_SCOPES,
    errors=[404, 409, 413], description="409 `not_cancellable` unless queued or running. Audited."))
async def cancel_backup(backup_id: BACKUP_ID, caller: CallerDep, services: BackendsDep) -> TenantBackup:
    return backup_out(await caller.call(services.tenant_backups.CancelBackup, pb.BackupIdRequest(id=backup_id)))


@router.post("/{backup_id}:resume", response_model=TenantBackup, **operation(
    operation_id="resumeTenantBackup", summary="Continue a cancelled or failed backup after its last finished table",
    scopes=_SCOPES, errors=[404, 409, 413],
    description="409 `not_resumable` unless cancelled or failed; `backup_in_progress` while another runs."))
async def resume_backup(backup_id: BACKUP_ID, caller: CallerDep, services: BackendsDep) -> TenantBackup:
    return backup_out(await caller.call(services.tenant_backups.ResumeBackup, pb.BackupIdRequest(id=backup_id)))


async def archive_stream(caller: Caller, services: Backends, opened: Any) -> AsyncIterator[bytes]:
    """The ZIP, zipped from identity's stored pages as they are read (nothing held whole)."""
    backup_id = opened.backup.id

    async def pages(path: str, count: int) -> AsyncIterator[bytes]:
        for seq in range(count):
            page = await caller.call(services.tenant_backups.ReadBackupPage,
                                     pb.ReadBackupPageRequest(id=backup_id, path=path, seq=seq))
            yield bytes(page.data)

    manifest = json.loads(opened.manifest_json)
    when = timestamp(opened.backup.finished_at) or datetime.now()
    async for chunk in zip_stream(manifest, [(f.path, pages(f.path, f.pages)) for f in opened.files], when):
        yield chunk


DOWNLOAD = operation(
    operation_id="downloadTenantBackup", summary="Download a finished backup (ZIP)", scopes=_SCOPES,
    errors=[404, 409],
    description="409 `backup_not_ready` until the backup succeeded; 404 `backup_expired` 24 h after it finished. "
                "Every download is audited (`tenant.backup_downloaded`).",
)
DOWNLOAD["responses"][200] = {"description": "The archive", "content": {"application/zip": {}}}


async def download_response(caller: Caller, services: Backends, backup_id: str) -> StreamingResponse:
    # Opened (checked and audited) before answering, so a refusal is a proper problem response.
    opened = await caller.call(services.tenant_backups.OpenBackupDownload, pb.BackupIdRequest(id=backup_id))
    headers = {"Content-Disposition": f'attachment; filename="{opened.backup.filename}"', "Cache-Control": "no-store"}
    return StreamingResponse(archive_stream(caller, services, opened), media_type="application/zip", headers=headers)


@router.get("/{backup_id}/archive", response_class=StreamingResponse, **DOWNLOAD)
async def download_backup(backup_id: BACKUP_ID, caller: CallerDep, services: BackendsDep) -> StreamingResponse:
    return await download_response(caller, services, backup_id)
