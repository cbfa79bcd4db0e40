"""Platform-operator actions on a tenant (`crm tenant ...`): they are not something a tenant does to
itself, so they run with an operator token minted here from identity's signing key (read from
identity's database with the master key, as only an operator holding both can), carrying the system
scope `system:tenants` that no tenant user or API client can be granted."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import logging
import shutil
import socket
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_dev.platform import SERVICES, TENANT_SERVICES, Platform
from crm_gateway import idempotency
from crm_identity.keys.service import KeyRing
from crm_identity.tables import tenant_directory
from crm_platform import jobs as jobs_lib
from crm_platform.auth import Scope
from crm_platform.db import control_session, create_engine
from crm_platform.errors import decode_rpc_error
from crm_platform.grpc_client import DEFAULT_DEADLINE, call_metadata, channel
from crm_platform.tables import jobs
from crm_proto.crm.identity.v1 import identity_pb2, identity_pb2_grpc
from crm_proto.crm.tenancy.v1 import tenancy_pb2, tenancy_pb2_grpc

log = logging.getLogger(__name__)

OPERATOR_CLIENT = "crm-operator"
OPERATOR_TOKEN_TTL = 300


class OperatorError(Exception):
    """Something the operator should read (unknown tenant, refused transition)."""


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    slug: str
    status: str


async def find_tenant(platform: Platform, slug: str) -> TenantRef:
    engine = create_engine(platform.database_url("identity"), pool_size=1)
    try:
        async with control_session(engine) as session:
            row = (
                await session.execute(
                    sa.select(tenant_directory.c.id, tenant_directory.c.slug, tenant_directory.c.status).where(
                        tenant_directory.c.slug == slug.strip().lower()
                    )
                )
            ).first()
    finally:
        await engine.dispose()
    if row is None:
        raise OperatorError(f"no tenant with the identifier {slug!r}")
    return TenantRef(row.id, row.slug, row.status)


async def operator_token(platform: Platform, tenant_id: uuid.UUID, scopes: list[str] | None = None) -> str:
    """An access token for `tenant_id` with `system:tenants`, signed with identity's current key."""
    engine = create_engine(platform.database_url("identity"), pool_size=1)
    try:
        ring = KeyRing(engine, platform.secrets["master_key"], platform.gateway_url, "crm-api")
        await ring.load()
        return ring.issue(
            subject=f"service:{OPERATOR_CLIENT}",
            tenant_id=tenant_id,
            client_id=OPERATOR_CLIENT,
            scopes=scopes or [Scope.SYSTEM_TENANTS.value],
            ttl=OPERATOR_TOKEN_TTL,
        )
    finally:
        await engine.dispose()


async def set_tenant_status(platform: Platform, slug: str, status: str, reason: str = "") -> identity_pb2.Tenant:
    """Suspends (`status="suspended"`) or resumes (`"active"`) a tenant through identity."""
    tenant = await find_tenant(platform, slug)
    token = await operator_token(platform, tenant.id)
    async with channel(platform.addr("identity")) as ch:
        stub = identity_pb2_grpc.IdentityServiceStub(ch)
        try:
            reply: identity_pb2.Tenant = await stub.SetTenantStatus(
                identity_pb2.SetTenantStatusRequest(status=status, reason=reason),
                metadata=call_metadata(token),
                timeout=DEFAULT_DEADLINE,
            )
        except grpc.aio.AioRpcError as exc:
            raise OperatorError(f"identity refused: {decode_rpc_error(exc).message or exc.details()}") from exc
    return reply


# -- offboarding ------------------------------------------------------------------------------

OFFBOARD_JOB = "tenant.offboard"
BACKUP_JOB = "tenant.backup"
EXPORT_FORMAT = "crm-tenant-export/1"
EXPORT_PAGE = 500
# Erased last: identity marks the tenant offboarded and drops its users.
ERASE_ORDER = (*TENANT_SERVICES, "identity")
# A service refuses to erase a tenant until it has seen the suspension (an event away).
SUSPENSION_WAIT = 30.0

Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, label: str) -> None:
    return None


def operator_name() -> str:
    """Who runs an operator command: the OS account and host (operators sign in to the machine)."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


class OffboardJob:
    """`crm tenant offboard`: suspend, export every service's data to a directory of JSON-lines
    files with a manifest (counts, sha256), then erase the tenant everywhere. The state lives in a
    job row in identity's database (`control.jobs`, kind `tenant.offboard`, one per tenant), so an
    interrupted run resumes where it stopped; a finished one is not repeated."""

    def __init__(self, platform: Platform, slug: str, export_to: Path, progress: Progress = _no_progress):
        self.platform = platform
        self.slug = slug
        self.export_to = export_to.resolve()
        self.progress = progress
        self.engine: AsyncEngine = create_engine(platform.database_url("identity"), pool_size=2)
        self.job_id: uuid.UUID | None = None
        self.state: dict[str, Any] = {}
        self.done = 0
        self.total = 0

    async def run(self) -> dict[str, Any]:
        try:
            tenant = await find_tenant(self.platform, self.slug)
            await self._load_job(tenant)
            if self.state.get("finished"):
                return self.state
            if tenant.status == "offboarded" and not self.state.get("exported"):
                raise OperatorError("the tenant is already offboarded; its data was erased")
            if tenant.status == "provisioning":
                raise OperatorError("the tenant is still being provisioned; nothing to offboard yet")
            if tenant.status == "active":
                await set_tenant_status(self.platform, self.slug, "suspended", "offboarding")
            log.info("audit: tenant offboarding started", extra={"fields": {"tenant": str(tenant.id)}})
            if not self.state.get("exported"):
                await self._export(tenant)
            await self._erase(tenant)
            self.state["finished"] = True
            self.state["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            await self._save(status="succeeded")
            log.info("audit: tenant offboarded", extra={"fields": {"tenant": str(tenant.id)}})
            return self.state
        finally:
            await self.engine.dispose()

    # -- job row -------------------------------------------------------------------------------
    kind = OFFBOARD_JOB
    steps_after_export = len(ERASE_ORDER)

    def job_key(self, tenant: TenantRef) -> str:
        """One offboarding per tenant: running the command again resumes it."""
        return f"{self.kind}:{tenant.id}"

    async def _load_job(self, tenant: TenantRef) -> None:
        key = self.job_key(tenant)
        async with control_session(self.engine) as session:
            # No tenant_id on the row: it is the operator's record about the tenant, not the tenant's
            # data, so erasing the tenant's control rows leaves it (and a finished run stays finished).
            await jobs_lib.enqueue(
                session, self.kind, {"tenant_id": str(tenant.id), "slug": tenant.slug,
                                     "export_to": str(self.export_to)},
                dedupe_key=key, max_attempts=1,
            )
        async with control_session(self.engine) as session:
            row = (await session.execute(sa.select(jobs).where(jobs.c.dedupe_key == key))).one()
        self.job_id = row.id
        self.state = dict(row.result or {})
        self.state.setdefault("tenant_id", str(tenant.id))
        self.state.setdefault("slug", tenant.slug)
        # The operator's audit record of the offboarding: it outlives the tenant's own audit log,
        # which is erased with the tenant. Each run (a resume too) is listed.
        self.state.setdefault("runs", []).append(
            {"by": operator_name(), "started_at": datetime.now(UTC).isoformat(timespec="seconds")})
        self.state.setdefault("export_to", str(self.export_to))
        self.state.setdefault("exported_services", {})
        self.state.setdefault("erased", {})
        if self.state["export_to"] != str(self.export_to) and not self.state.get("exported"):
            # The export restarts in the new place: files in the old one are incomplete.
            self.state["export_to"] = str(self.export_to)
            self.state["exported_services"] = {}
        self.export_to = Path(self.state["export_to"])
        self.done, self.total = int(row.progress_done), int(row.progress_total or 0)

    async def _save(self, status: str = "running") -> None:
        async with control_session(self.engine) as session:
            await session.execute(
                sa.update(jobs)
                .where(jobs.c.id == self.job_id)
                .values(
                    status=status, result=self.state, progress_done=self.done, progress_total=self.total,
                    attempts=1, locked_by=None if status != "running" else "crm-cli", updated_at=sa.func.now(),
                )
            )

    def _advance(self, rows: int, label: str) -> None:
        self.done += rows
        self.progress(self.done, self.total, label)

    # -- export --------------------------------------------------------------------------------
    async def _export(self, tenant: TenantRef) -> None:
        token = await operator_token(self.platform, tenant.id)
        listings: dict[str, list[tuple[str, int]]] = {}
        for service in SERVICES:
            request = tenancy_pb2.ListTenantDataRequest(tenant_id=str(tenant.id))
            reply = await self._call(service, "ListTenantData", request, token)
            listings[service] = [(t.name, t.rows) for t in reply.tables]
        # Progress: rows to export, then one step per service erased (offboarding only).
        self.total = sum(rows for tables in listings.values() for _, rows in tables) + self.steps_after_export
        self.done = sum(f["rows"] for files in self.state["exported_services"].values() for f in files)
        self.progress(self.done, self.total, "export")
        self.export_to.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            if service in self.state["exported_services"]:
                continue
            token = await operator_token(self.platform, tenant.id)
            files = [await self._export_table(service, tenant, name, token) for name, _ in listings[service]]
            self.state["exported_services"][service] = files
            await self._save()
        manifest = {
            "format": EXPORT_FORMAT,
            "tenant": {"id": str(tenant.id), "slug": tenant.slug},
            "exported_at": datetime.now(UTC).isoformat(),
            "files": [f for service in SERVICES for f in self.state["exported_services"][service]],
        }
        (self.export_to / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        self.state["exported"] = True
        await self._save()

    async def _export_table(self, service: str, tenant: TenantRef, table: str, token: str) -> dict[str, Any]:
        relative = Path(service) / f"{table}.jsonl"
        path = self.export_to / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        rows = 0
        offset = 0
        with path.open("wb") as out:
            while True:
                reply = await self._call(
                    service, "ExportTenant",
                    tenancy_pb2.ExportTenantRequest(tenant_id=str(tenant.id), table=table, offset=offset,
                                                    page_size=EXPORT_PAGE),
                    token,
                )
                for line in reply.rows:
                    data = (line + "\n").encode()
                    out.write(data)
                    digest.update(data)
                rows += len(reply.rows)
                self._advance(len(reply.rows), f"export {service}")
                offset = reply.next_offset
                if reply.done:
                    break
        return {"service": service, "table": table, "path": relative.as_posix(), "rows": rows,
                "sha256": digest.hexdigest()}

    # -- erase ---------------------------------------------------------------------------------
    async def _erase(self, tenant: TenantRef) -> None:
        for service in ERASE_ORDER:
            if service in self.state["erased"]:
                continue
            token = await operator_token(self.platform, tenant.id)
            request = tenancy_pb2.EraseTenantRequest(tenant_id=str(tenant.id))
            deadline = time.monotonic() + SUSPENSION_WAIT
            while True:
                try:
                    reply = await self._call(service, "EraseTenant", request, token, retry_precondition=True)
                    break
                except _NotYetSuspended:
                    if time.monotonic() > deadline:
                        raise OperatorError(f"{service} has not seen the suspension yet; try again") from None
                    await asyncio.sleep(0.5)
            self.state["erased"][service] = {"deleted": dict(reply.deleted), "schema_dropped": reply.schema_dropped}
            await self._save()
            self._advance(1, f"erase {service}")
        # The gateway's Idempotency-Key records keep response bodies for 24 h: dropped with the rest.
        await idempotency.purge_tenant(self.platform.nats.url, tenant.id)

    async def _call(
        self, service: str, method: str, request: Any, token: str, *, retry_precondition: bool = False
    ) -> Any:
        async with channel(self.platform.addr(service)) as ch:
            stub = tenancy_pb2_grpc.TenancyServiceStub(ch)
            try:
                return await getattr(stub, method)(request, metadata=call_metadata(token), timeout=60)
            except grpc.aio.AioRpcError as exc:
                if retry_precondition and exc.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    raise _NotYetSuspended() from exc
                raise OperatorError(
                    f"{service} {method} failed: {decode_rpc_error(exc).message or exc.details()}"
                ) from exc


class BackupJob(OffboardJob):
    """`crm tenant backup`: the offboarding export (the same services, tables, JSON-lines files and
    manifest, `crm-tenant-export/1`) of a tenant that stays active, packed into one ZIP archive;
    nothing is suspended or erased. Each backup is a job row of its own (kind `tenant.backup`), kept
    as the operator's record of who took which backup of the tenant, with its progress; an
    interrupted one is started again (the archive is written only at the end)."""

    kind = BACKUP_JOB
    steps_after_export = 0

    def __init__(self, platform: Platform, slug: str, archive: Path, progress: Progress = _no_progress):
        self.archive = archive.resolve()
        self.archive.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix="crm-backup-", dir=self.archive.parent))
        super().__init__(platform, slug, self.staging, progress)
        self.started = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")

    def job_key(self, tenant: TenantRef) -> str:
        return f"{self.kind}:{tenant.id}:{self.started}"

    async def run(self) -> dict[str, Any]:
        try:
            tenant = await find_tenant(self.platform, self.slug)
            if tenant.status not in ("active", "suspended"):
                raise OperatorError(f"the tenant is {tenant.status}; there is nothing to back up")
            await self._load_job(tenant)
            log.info("audit: tenant backup started", extra={"fields": {"tenant": str(tenant.id),
                                                                       "by": operator_name()}})
            await self._export(tenant)
            self.archive.parent.mkdir(parents=True, exist_ok=True)
            pack(self.staging, self.archive)
            self.state.update(finished=True, archive=str(self.archive), export_to=str(self.archive),
                              sha256=_sha256_file(self.archive),
                              finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
            await self._save(status="succeeded")
            log.info("audit: tenant backed up", extra={"fields": {"tenant": str(tenant.id), "by": operator_name(),
                                                                  "archive": str(self.archive)}})
            return self.state
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
            await self.engine.dispose()


def pack(directory: Path, archive: Path) -> None:
    """The export directory as a ZIP (manifest.json first), written beside and renamed into place,
    so a half-written archive never has the final name."""
    partial = archive.with_name(archive.name + ".partial")
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name != "manifest.json")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for path in files:
            out.write(path, path.relative_to(directory).as_posix())
    partial.replace(archive)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _NotYetSuspended(Exception):
    pass


# -- restore into a new tenant --------------------------------------------------------------------

RESTORE_JOB = "tenant.restore"
RESTORE_PAGE = 500


@dataclass
class RestoreReport:
    tenant_id: uuid.UUID
    slug: str
    admin_email: str
    admin_password: str  # generated when the operator gave none: shown once
    generated_password: bool
    restored: dict[str, int]  # "<service>/<table>" -> rows inserted
    skipped: dict[str, str]  # "<service>/<table>" -> why it was not restored


class RestoreJob:
    """`crm tenant restore`: a backup archive (`crm-tenant-export/1`, from `crm tenant backup` or a
    tenant admin's download) loaded into a NEW tenant. The tenant is registered `provisioning` and
    provisioned in every service, then every table of the archive is sent page by page to its
    service's `TenancyService/ImportTenant` (ids kept; a table whose rows reference one not restored
    yet is retried after the others), one admin gets a password, the restore is written to the new
    tenant's audit log, and only then is the tenant `active`. Its record is a job row in identity's
    `control.jobs` (kind `tenant.restore`) with progress in rows."""

    def __init__(self, platform: Platform, archive: Path, slug: str, *, admin_email: str = "",
                 admin_password: str = "", progress: Progress = _no_progress):
        self.platform = platform
        self.path = archive.resolve()
        self.slug = slug.strip().lower()
        self.admin_email = admin_email.strip().lower()
        self.admin_password = admin_password
        self.progress = progress
        self.engine: AsyncEngine = create_engine(platform.database_url("identity"), pool_size=2)
        self.record: dict[str, Any] = {}

    async def run(self) -> RestoreReport:
        from crm_platform.tenant_archive import Archive, ArchiveError

        try:
            try:
                archive = Archive(self.path)
            except ArchiveError as exc:
                raise OperatorError(str(exc)) from None
            try:
                return await self._restore(archive)
            finally:
                archive.close()
        finally:
            await self.engine.dispose()

    async def _restore(self, archive: Any) -> RestoreReport:
        from crm_identity.tenants.service import TenantService
        from crm_platform.errors import DomainError
        from crm_platform.tenant_archive import service_rank

        settings = self._settings(archive)
        users = self._users(archive)
        admin = self._admin(users)
        ring = KeyRing(self.engine, self.platform.secrets["master_key"], self.platform.gateway_url, "crm-api")
        await ring.load()
        tenants = TenantService(self.engine, ring, [self.platform.addr(s) for s in TENANT_SERVICES],
                                self._provision_identity)
        try:
            tenant_id = await tenants.register_restored(
                slug=self.slug, name=settings.get("name", ""), default_locale=settings.get("default_locale", ""),
                time_zone=settings.get("time_zone", ""))
        except DomainError as exc:
            raise OperatorError(f"cannot create the tenant {self.slug!r}: {exc.message}") from None
        job_id = await self._job(tenant_id, archive)
        total = sum(f.rows for f in archive.files)
        done = 0
        restored: dict[str, int] = {}
        skipped: dict[str, str] = {}
        pending = sorted(archive.files, key=lambda f: service_rank(f.service))
        token = await operator_token(self.platform, tenant_id)
        while pending:
            waiting = []
            for entry in pending:
                key = f"{entry.service}/{entry.table}"
                try:
                    inserted = 0
                    pages = list(archive.rows(entry.path, RESTORE_PAGE)) or [[]]
                    for number, rows in enumerate(pages):
                        reply = await self._import(entry.service, tenant_id, archive.source_tenant_id, entry.table,
                                                   rows, token, replace=number == 0)
                        inserted += reply.inserted
                    restored[key] = inserted
                    done += entry.rows
                    self.progress(done, total, f"restore {entry.service}")
                except _ImportOrder:
                    waiting.append(entry)
                except OperatorError as exc:
                    skipped[key] = str(exc)
                    done += entry.rows
            if len(waiting) == len(pending):
                for entry in waiting:
                    skipped[f"{entry.service}/{entry.table}"] = "references rows that are not in the archive"
                break
            pending = waiting
            token = await operator_token(self.platform, tenant_id)
        password, generated = await self._set_admin_password(tenant_id, admin)
        await self._audit_and_activate(tenant_id, archive, restored, skipped)
        await self._finish(job_id, done, total, restored, skipped)
        log.info("audit: tenant restored", extra={"fields": {"tenant": str(tenant_id), "by": operator_name(),
                                                             "from": str(self.path)}})
        return RestoreReport(tenant_id, self.slug, admin, password, generated, restored, skipped)

    # -- archive contents ----------------------------------------------------------------------
    @staticmethod
    def _lines(archive: Any, service: str, table: str) -> list[dict[str, Any]]:
        for entry in archive.files:
            if entry.service == service and entry.table == table:
                return [json.loads(line) for rows in archive.rows(entry.path, RESTORE_PAGE) for line in rows]
        return []

    def _settings(self, archive: Any) -> dict[str, str]:
        rows = self._lines(archive, "identity", "control.tenant")
        return {k: str(v) for k, v in rows[0].items() if isinstance(v, str)} if rows else {}

    def _users(self, archive: Any) -> list[dict[str, Any]]:
        return self._lines(archive, "identity", "users")

    def _admin(self, users: list[dict[str, Any]]) -> str:
        admins = [u for u in users if "tenant_admin" in (u.get("roles") or []) and not u.get("disabled")]
        if self.admin_email:
            if not any(str(u.get("email", "")).lower() == self.admin_email for u in admins):
                raise OperatorError(f"{self.admin_email} is not an enabled tenant admin in the archive")
            return self.admin_email
        if not admins:
            raise OperatorError("the archive has no enabled tenant admin; nobody could sign in")
        admins.sort(key=lambda u: str(u.get("created_at", "")))
        return str(admins[0]["email"]).lower()

    # -- calls ---------------------------------------------------------------------------------
    async def _provision_identity(self, tenant_id: uuid.UUID) -> str:
        token = await operator_token(self.platform, tenant_id, [Scope.SYSTEM_PROVISION.value])
        async with channel(self.platform.addr("identity")) as ch:
            reply = await tenancy_pb2_grpc.TenancyServiceStub(ch).ProvisionTenant(
                tenancy_pb2.ProvisionTenantRequest(tenant_id=str(tenant_id)), metadata=call_metadata(token),
                timeout=60)
        return str(reply.schema)

    async def _import(self, service: str, tenant_id: uuid.UUID, source: str, table: str, rows: list[str],
                      token: str, *, replace: bool) -> Any:
        async with channel(self.platform.addr(service)) as ch:
            try:
                return await tenancy_pb2_grpc.TenancyServiceStub(ch).ImportTenant(
                    tenancy_pb2.ImportTenantRequest(tenant_id=str(tenant_id), source_tenant_id=source, table=table,
                                                    rows=rows, replace=replace),
                    metadata=call_metadata(token), timeout=120)
            except grpc.aio.AioRpcError as exc:
                detail = decode_rpc_error(exc)
                if detail.code == "import_order":
                    raise _ImportOrder() from None
                raise OperatorError(f"{service} {table}: {detail.message or exc.details()}") from None

    async def _set_admin_password(self, tenant_id: uuid.UUID, email: str) -> tuple[str, bool]:
        from crm_identity.tables import users
        from crm_identity.users.service import hash_password
        from crm_platform.db import tenant_session

        generated = not self.admin_password
        password = self.admin_password or secrets_token()
        async with tenant_session(self.engine, tenant_id) as session:
            changed = await session.execute(sa.update(users).where(sa.func.lower(users.c.email) == email).values(
                password_hash=await hash_password(password), must_change_password=generated, status="active"))
            if not changed.rowcount:  # type: ignore[attr-defined]
                raise OperatorError(f"the admin {email} was not restored")
        return password, generated

    async def _audit_and_activate(self, tenant_id: uuid.UUID, archive: Any, restored: dict[str, int],
                                  skipped: dict[str, str]) -> None:
        from crm_identity.audit import log as audit
        from crm_platform.db import tenant_session

        async with tenant_session(self.engine, tenant_id) as session:
            await audit.record(session, "tenant.restored", actor=f"service:{OPERATOR_CLIENT}", actor_kind="system",
                               target_type="tenant", target_id=str(tenant_id), details={
                                   "source_tenant_id": archive.source_tenant_id, "source_slug": archive.source_slug,
                                   "exported_at": archive.manifest.get("exported_at", ""),
                                   "rows": sum(restored.values()), "skipped": sorted(skipped),
                                   "by": operator_name()})
            await session.execute(sa.update(tenant_directory).where(tenant_directory.c.id == tenant_id)
                                  .values(status="active"))

    async def _job(self, tenant_id: uuid.UUID, archive: Any) -> uuid.UUID:
        key = f"{RESTORE_JOB}:{tenant_id}"
        self.record = {"by": operator_name(), "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                       "tenant_id": str(tenant_id), "slug": self.slug}
        async with control_session(self.engine) as session:
            await jobs_lib.enqueue(session, RESTORE_JOB, {"tenant_id": str(tenant_id), "slug": self.slug,
                                                          "from": str(self.path),
                                                          "source_tenant_id": archive.source_tenant_id},
                                   dedupe_key=key, max_attempts=1)
            row = (await session.execute(sa.select(jobs.c.id).where(jobs.c.dedupe_key == key))).one()
            await session.execute(sa.update(jobs).where(jobs.c.id == row.id).values(
                status="running", attempts=1, locked_by="crm-cli",
                result=self.record,
                progress_total=sum(f.rows for f in archive.files)))
        return uuid.UUID(str(row.id))

    async def _finish(self, job_id: uuid.UUID, done: int, total: int, restored: dict[str, int],
                      skipped: dict[str, str]) -> None:
        async with control_session(self.engine) as session:
            await session.execute(sa.update(jobs).where(jobs.c.id == job_id).values(
                status="succeeded", locked_by=None, progress_done=done, progress_total=total, updated_at=sa.func.now(),
                result={**self.record, "restored": restored, "skipped": skipped,
                        "finished_at": datetime.now(UTC).isoformat(timespec="seconds")}))


def secrets_token() -> str:
    import secrets

    return "Rs-" + secrets.token_urlsafe(12)


class _ImportOrder(Exception):
    pass
