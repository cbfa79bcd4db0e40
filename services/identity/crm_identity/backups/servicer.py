"""gRPC transport of `crm.identity.v1.TenantBackupService` (backups/service.py): translation only;
every call needs `tenant:backup`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.backups.service import TenantBackups
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.identity.v1 import backups_pb2 as pb
from crm_proto.crm.identity.v1 import backups_pb2_grpc

SERVICE_NAME: Final = "crm.identity.v1.TenantBackupService"


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def backup_pb(row: sa.Row[Any], display_names: dict[str, str] | None = None) -> pb.TenantBackup:
    stamp = (row.created_at.strftime("%Y%m%d-%H%M%S") if row.created_at else str(row.id))
    return pb.TenantBackup(
        id=str(row.id), status=row.status, progress_done=row.progress_done, progress_total=row.progress_total,
        requested_by=row.requested_by, requested_by_name=(display_names or {}).get(row.requested_by, ""),
        created_at=_ts(row.created_at), finished_at=_ts(row.finished_at), expires_at=_ts(row.expires_at),
        rows=sum(int(f["rows"]) for f in row.files), files=len(row.files), error=row.error,
        filename=f"backup-{stamp}.zip",
    )


async def _names(call: Call, rows: list[sa.Row[Any]]) -> dict[str, str]:
    """Who asked for each backup, by name (the page shows people, not ids)."""
    from crm_identity.tables import users

    ids = {r.requested_by for r in rows if r.requested_by_kind == "user"}
    if not ids:
        return {}
    found = await call.session.execute(sa.select(users.c.id, users.c.display_name).where(
        sa.cast(users.c.id, sa.Text).in_(ids)))
    return {str(r.id): r.display_name for r in found}


class TenantBackupServicer(backups_pb2_grpc.TenantBackupServiceServicer):
    def __init__(self, engine: AsyncEngine, backups: TenantBackups):
        self.engine = engine
        self.backups = backups

    async def _one(self, call: Call, row: sa.Row[Any]) -> pb.TenantBackup:
        return backup_pb(row, await _names(call, [row]))

    @rpc(Scope.TENANT_BACKUP)
    async def StartBackup(self, request: pb.StartBackupRequest, call: Call) -> pb.TenantBackup:
        return await self._one(call, await self.backups.start(call.session, call.principal))

    @rpc(Scope.TENANT_BACKUP)
    async def ListBackups(self, request: pb.ListBackupsRequest, call: Call) -> pb.ListBackupsResponse:
        rows = await self.backups.all(call.session)
        names = await _names(call, rows)
        return pb.ListBackupsResponse(backups=[backup_pb(r, names) for r in rows])

    @rpc(Scope.TENANT_BACKUP)
    async def GetBackup(self, request: pb.BackupIdRequest, call: Call) -> pb.TenantBackup:
        return await self._one(call, await self.backups.get(call.session, request.id))

    @rpc(Scope.TENANT_BACKUP)
    async def CancelBackup(self, request: pb.BackupIdRequest, call: Call) -> pb.TenantBackup:
        return await self._one(call, await self.backups.cancel(call.session, call.principal, request.id))

    @rpc(Scope.TENANT_BACKUP)
    async def ResumeBackup(self, request: pb.BackupIdRequest, call: Call) -> pb.TenantBackup:
        return await self._one(call, await self.backups.resume(call.session, call.principal, request.id))

    @rpc(Scope.TENANT_BACKUP)
    async def OpenBackupDownload(self, request: pb.BackupIdRequest, call: Call) -> pb.BackupDownload:
        row, manifest, pages = await self.backups.open_download(call.session, call.principal, request.id)
        return pb.BackupDownload(
            backup=await self._one(call, row), manifest_json=json.dumps(manifest, ensure_ascii=False),
            files=[pb.BackupFilePages(path=path, pages=count) for path, count in pages],
        )

    @rpc(Scope.TENANT_BACKUP, read_only=True)
    async def ReadBackupPage(self, request: pb.ReadBackupPageRequest, call: Call) -> pb.BackupChunk:
        return pb.BackupChunk(data=await self.backups.read_page(call.session, request.id, request.path, request.seq))
