"""A tenant admin's own backups (docs/tenancy.md#backups-for-the-tenant-admin).

`start` records a backup (`tenant_backups`, it0070) and queues a platform job (`crm_platform/jobs.py`,
kind `tenant.backup.download`) in the same transaction. The job is the offboarding exporter run from
inside the platform: every service's `TenancyService/ListTenantData` and `ExportTenant` (identity's
own tables read directly), called with a short-lived token identity mints for the tenant with the
system scope `system:tenants`. Each page of rows is stored as it arrives (`tenant_backup_pages`),
with progress in rows on the backup and the job; a finished table is listed in `files` with its row
count and SHA-256, so a resumed (or crashed and re-claimed) backup continues after its last
finished table. Cancelling stops it after the current page. A finished backup can be downloaded
until it expires (`RETENTION`); the gateway zips the stored pages into `crm-tenant-export/1` as it
streams them. Nothing is suspended or erased, and sensitive fields stay as stored (ciphertext)."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_identity.audit import log as audit
from crm_identity.keys.service import KeyRing
from crm_identity.tables import tenant_backup_pages, tenant_backups, tenant_directory
from crm_platform import jobs, offboarding, telemetry
from crm_platform.auth import Principal, Scope
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, NotFound
from crm_platform.grpc_client import call_metadata, channel
from crm_platform.ids import new_id, parse_uuid
from crm_platform.tenant_archive import FORMAT, service_rank
from crm_proto.crm.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

log = logging.getLogger(__name__)

JOB_KIND: Final = "tenant.backup.download"
RETRY_SCHEDULE: Final = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2))
# A finished archive can be downloaded for this long, then its pages are deleted.
RETENTION: Final = timedelta(hours=24)
PAGE: Final = 500
CALL_DEADLINE: Final = 60.0
TOKEN_TTL: Final = 600
ACTIVE: Final = ("queued", "running", "cancelling")

BACKUP_STARTED: Final = "tenant.backup_started"
BACKUP_CANCELLED: Final = "tenant.backup_cancelled"
BACKUP_DOWNLOADED: Final = "tenant.backup_downloaded"


@dataclass(frozen=True)
class Source:
    """One service's tables of the tenant, and how to read a page of one."""

    service: str
    tables: list[tuple[str, int]]
    export: Callable[[str, int, int], Awaitable[list[str]]]


class TenantBackups:
    def __init__(
        self, engine: AsyncEngine, keys: KeyRing, tenant_services: list[str],
        local_data: Callable[[], offboarding.TenantDataHook | None],
    ):
        self.engine = engine
        self.keys = keys
        self.addresses = tenant_services
        self.local_data = local_data

    # -- requests ------------------------------------------------------------------------------
    async def start(self, session: AsyncSession, actor: Principal) -> sa.Row[Any]:
        """One backup at a time per tenant: another while one is active is a 409 `backup_in_progress`."""
        await self._purge_expired(session)
        active = (await session.execute(
            sa.select(tenant_backups.c.id).where(tenant_backups.c.status.in_(ACTIVE)).limit(1))).first()
        if active is not None:
            raise Conflict("a backup is already being taken", code="backup_in_progress",
                           extra={"backup_id": str(active.id)})
        by, kind = audit.actor_of(actor)
        backup_id = new_id()
        row = (await session.execute(sa.insert(tenant_backups).values(
            id=backup_id, status="queued", requested_by=by, requested_by_kind=kind, progress_done=0,
            progress_total=0, files=[], error="").returning(tenant_backups))).one()
        await self._enqueue(session, actor.tenant_id, backup_id, 0)
        await audit.record_by(session, actor, BACKUP_STARTED, target_type="tenant_backup", target_id=str(backup_id))
        return row

    async def _enqueue(self, session: AsyncSession, tenant_id: uuid.UUID, backup_id: uuid.UUID, run: int) -> None:
        await jobs.enqueue(session, JOB_KIND, {"backup_id": str(backup_id)}, tenant_id=tenant_id,
                           dedupe_key=f"{JOB_KIND}:{backup_id}:{run}:{new_id()}", max_attempts=len(RETRY_SCHEDULE) + 1)

    async def all(self, session: AsyncSession) -> list[sa.Row[Any]]:
        await self._purge_expired(session)
        return list((await session.execute(
            sa.select(tenant_backups).order_by(tenant_backups.c.created_at.desc()).limit(50))).all())

    async def get(self, session: AsyncSession, backup_id: str, *, lock: bool = False) -> sa.Row[Any]:
        parsed = parse_uuid(backup_id, "backup")
        query = sa.select(tenant_backups).where(tenant_backups.c.id == parsed)
        row = (await session.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            raise NotFound("no such backup", code="backup_not_found")
        return row

    async def cancel(self, session: AsyncSession, actor: Principal, backup_id: str) -> sa.Row[Any]:
        row = await self.get(session, backup_id, lock=True)
        if row.status not in ("queued", "running"):
            raise Conflict("only a queued or running backup can be cancelled", code="not_cancellable")
        status = "cancelled" if row.status == "queued" else "cancelling"
        row = await self._set(session, row.id, status=status)
        await audit.record_by(session, actor, BACKUP_CANCELLED, target_type="tenant_backup", target_id=str(row.id))
        return row

    async def resume(self, session: AsyncSession, actor: Principal, backup_id: str) -> sa.Row[Any]:
        row = await self.get(session, backup_id, lock=True)
        if row.status not in ("cancelled", "failed"):
            raise Conflict("only a cancelled or failed backup can be resumed", code="not_resumable")
        active = (await session.execute(sa.select(tenant_backups.c.id).where(
            tenant_backups.c.status.in_(ACTIVE), tenant_backups.c.id != row.id).limit(1))).first()
        if active is not None:
            raise Conflict("a backup is already being taken", code="backup_in_progress",
                           extra={"backup_id": str(active.id)})
        row = await self._set(session, row.id, status="queued", error="")
        await self._enqueue(session, actor.tenant_id, row.id, len(row.files))
        return row

    async def open_download(self, session: AsyncSession, actor: Principal,
                            backup_id: str) -> tuple[sa.Row[Any], dict[str, Any], list[tuple[str, int]]]:
        """The manifest and each file's page count of a finished, unexpired backup; audited."""
        row = await self.get(session, backup_id)
        if row.status == "expired" or (row.expires_at is not None and row.expires_at <= datetime.now(UTC)):
            raise NotFound("this backup has expired; take a new one", code="backup_expired")
        if row.status != "succeeded":
            raise Conflict("the backup is not finished yet", code="backup_not_ready")
        counts: dict[str, int] = dict((await session.execute(
            sa.select(tenant_backup_pages.c.path, sa.func.count())
            .where(tenant_backup_pages.c.backup_id == row.id).group_by(tenant_backup_pages.c.path))).all())
        manifest = {
            "format": FORMAT,
            "tenant": {"id": str(actor.tenant_id), "slug": await self._slug(session, actor.tenant_id)},
            "exported_at": (row.finished_at or datetime.now(UTC)).isoformat(),
            "files": list(row.files),
        }
        await audit.record_by(session, actor, BACKUP_DOWNLOADED, target_type="tenant_backup",
                              target_id=str(row.id), details={"files": len(row.files)})
        return row, manifest, [(f["path"], int(counts.get(f["path"], 0))) for f in row.files]

    async def read_page(self, session: AsyncSession, backup_id: str, path: str, seq: int) -> bytes:
        row = await self.get(session, backup_id)
        if row.status != "succeeded" or (row.expires_at is not None and row.expires_at <= datetime.now(UTC)):
            raise NotFound("this backup has expired; take a new one", code="backup_expired")
        data = (await session.execute(sa.select(tenant_backup_pages.c.data).where(
            tenant_backup_pages.c.backup_id == row.id, tenant_backup_pages.c.path == path,
            tenant_backup_pages.c.seq == seq))).scalar()
        if data is None:
            raise NotFound("no such page of the backup", code="backup_page_not_found")
        return bytes(data)

    @staticmethod
    async def _slug(session: AsyncSession, tenant_id: uuid.UUID) -> str:
        return str((await session.execute(
            sa.select(tenant_directory.c.slug).where(tenant_directory.c.id == tenant_id))).scalar() or "")

    @staticmethod
    async def _set(session: AsyncSession, backup_id: uuid.UUID, **values: Any) -> sa.Row[Any]:
        return (await session.execute(sa.update(tenant_backups).where(tenant_backups.c.id == backup_id)
                                      .values(updated_at=sa.func.now(), **values).returning(tenant_backups))).one()

    @staticmethod
    async def _purge_expired(session: AsyncSession) -> None:
        """Short-lived archives: past `expires_at` the pages go and the row says `expired`."""
        expired = (await session.execute(
            sa.update(tenant_backups)
            .where(tenant_backups.c.status == "succeeded", tenant_backups.c.expires_at <= sa.func.now())
            .values(status="expired", updated_at=sa.func.now()).returning(tenant_backups.c.id))).scalars().all()
        if expired:
            await session.execute(sa.delete(tenant_backup_pages).where(tenant_backup_pages.c.backup_id.in_(expired)))

    # -- the job -------------------------------------------------------------------------------
    async def run(self, job: jobs.Job) -> dict[str, Any] | None:
        assert job.tenant_id is not None
        tenant_id = job.tenant_id
        backup_id = uuid.UUID(job.payload["backup_id"])
        async with tenant_session(self.engine, tenant_id) as session:
            row = (await session.execute(sa.select(tenant_backups).where(tenant_backups.c.id == backup_id)
                                         .with_for_update())).first()
            if row is None or row.status in ("cancelled", "succeeded", "expired"):
                return {"skipped": row.status if row else "missing"}
            if row.status == "cancelling":
                await self._set(session, backup_id, status="cancelled")
                return {"cancelled": True}
            await self._set(session, backup_id, status="running")
        try:
            return await self._export(tenant_id, backup_id, job)
        except _Cancelled:
            async with tenant_session(self.engine, tenant_id) as session:
                await self._set(session, backup_id, status="cancelled")
            return {"cancelled": True}
        except Exception as exc:
            last = job.attempts >= job.max_attempts
            async with tenant_session(self.engine, tenant_id) as session:
                await self._set(session, backup_id, status="failed" if last else "queued",
                                error=f"{type(exc).__name__}: {exc}"[:500])
            raise

    def _metadata(self, tenant_id: uuid.UUID) -> Callable[[], Any]:
        """Call metadata with a short-lived `system:tenants` token of the tenant, minted again
        before it runs out (a large tenant's export takes longer than one token lives)."""
        minted: dict[str, Any] = {}

        def current() -> Any:
            if not minted or time.monotonic() - minted["at"] > TOKEN_TTL / 2:
                token = self.keys.issue(subject="service:identity", tenant_id=tenant_id, client_id="crm-identity",
                                        scopes=[Scope.SYSTEM_TENANTS.value], ttl=TOKEN_TTL)
                minted.update(at=time.monotonic(), metadata=call_metadata(token))
            return minted["metadata"]

        return current

    async def _sources(self, tenant_id: uuid.UUID) -> list[Source]:
        metadata = self._metadata(tenant_id)
        local_hook = self.local_data()
        local_tables = await offboarding.schema_tables(self.engine, tenant_id)
        if local_hook is not None:
            local_tables += await local_hook.tables(tenant_id)

        async def local_export(table: str, offset: int, limit: int) -> list[str]:
            if local_hook is not None and table.startswith(local_hook.prefixes):
                return await local_hook.export(tenant_id, table, offset, limit)
            return await offboarding.export_page(self.engine, tenant_id, table, offset, limit)

        sources = [Source("identity", local_tables, local_export)]
        for address in self.addresses:
            stub = tenancy_pb2_grpc.TenancyServiceStub(channel(address))
            listing = await stub.ListTenantData(tenancy_pb2.ListTenantDataRequest(tenant_id=str(tenant_id)),
                                                metadata=metadata(), timeout=CALL_DEADLINE)

            def remote_export(table: str, offset: int, limit: int,
                              stub: tenancy_pb2_grpc.TenancyServiceStub = stub) -> Awaitable[list[str]]:
                return _remote_page(stub, metadata, tenant_id, table, offset, limit)

            sources.append(Source(listing.service or address, [(t.name, t.rows) for t in listing.tables],
                                  remote_export))
        sources.sort(key=lambda s: service_rank(s.service))
        return sources

    async def _export(self, tenant_id: uuid.UUID, backup_id: uuid.UUID, job: jobs.Job) -> dict[str, Any]:
        sources = await self._sources(tenant_id)
        async with tenant_session(self.engine, tenant_id) as session:
            row = (await session.execute(sa.select(tenant_backups).where(tenant_backups.c.id == backup_id))).one()
        files: list[dict[str, Any]] = list(row.files)
        finished = {f["path"] for f in files}
        total = sum(rows for source in sources for _, rows in source.tables)
        done = sum(int(f["rows"]) for f in files)
        await self._progress(tenant_id, backup_id, job, done, max(total, done))
        for source in sources:
            for table, _ in source.tables:
                path = f"{source.service}/{table}.jsonl"
                if path in finished:
                    continue
                entry, done = await self._export_table(tenant_id, backup_id, job, source, table, path, done, total)
                files.append(entry)
                async with tenant_session(self.engine, tenant_id) as session:
                    await self._set(session, backup_id, files=files)
        now = datetime.now(UTC)
        async with tenant_session(self.engine, tenant_id) as session:
            await self._set(session, backup_id, status="succeeded", finished_at=now, expires_at=now + RETENTION,
                            progress_done=done, progress_total=done, error="")
        log.info("audit: tenant backup taken", extra=telemetry.log_fields(
            audit=True, tenant=str(tenant_id), backup=str(backup_id), rows=done, files=len(files)))
        return {"backup_id": str(backup_id), "rows": done, "files": len(files)}

    async def _export_table(self, tenant_id: uuid.UUID, backup_id: uuid.UUID, job: jobs.Job, source: Source,
                            table: str, path: str, done: int, total: int) -> tuple[dict[str, Any], int]:
        async with tenant_session(self.engine, tenant_id) as session:
            # A table interrupted half-way is exported again from its start.
            await session.execute(sa.delete(tenant_backup_pages).where(
                tenant_backup_pages.c.backup_id == backup_id, tenant_backup_pages.c.path == path))
        digest = hashlib.sha256()
        rows = offset = seq = 0
        while True:
            lines = await source.export(table, offset, PAGE)
            data = "".join(line + "\n" for line in lines).encode()
            digest.update(data)
            async with tenant_session(self.engine, tenant_id) as session:
                status = (await session.execute(sa.select(tenant_backups.c.status)
                                                .where(tenant_backups.c.id == backup_id))).scalar()
                if status != "running":
                    raise _Cancelled()
                if data:
                    await session.execute(sa.insert(tenant_backup_pages).values(
                        backup_id=backup_id, path=path, seq=seq, data=data))
            seq += 1
            rows += len(lines)
            offset += len(lines)
            done += len(lines)
            await self._progress(tenant_id, backup_id, job, done, max(total, done))
            if len(lines) < PAGE:
                break
        return ({"service": source.service, "table": table, "path": path, "rows": rows,
                 "sha256": digest.hexdigest()}, done)

    async def _progress(self, tenant_id: uuid.UUID, backup_id: uuid.UUID, job: jobs.Job, done: int,
                        total: int) -> None:
        async with tenant_session(self.engine, tenant_id) as session:
            await self._set(session, backup_id, progress_done=done, progress_total=total)
        await jobs.report_progress(self.engine, job.id, done, total)


async def _remote_page(stub: tenancy_pb2_grpc.TenancyServiceStub, metadata: Callable[[], Any], tenant_id: uuid.UUID,
                       table: str, offset: int, limit: int) -> list[str]:
    reply = await stub.ExportTenant(
        tenancy_pb2.ExportTenantRequest(tenant_id=str(tenant_id), table=table, offset=offset, page_size=limit),
        metadata=metadata(), timeout=CALL_DEADLINE)
    return list(reply.rows)


class _Cancelled(Exception):
    pass
