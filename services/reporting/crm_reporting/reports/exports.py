"""Report exports (docs/reporting.md, "Report exports"): a saved report as a file (CSV, the rows'
CSV, XLSX with its PivotTable, PDF), made by a job (`reports.export`, crm_platform/jobs.py) with
progress. The job acts as the requester: a snapshot of their access is kept in the export row
(never the token), and the report is run again under it, so the file shows exactly what the
requester may see at the time it is made (data scope and field policies compiled into the query
by the engine). Only the requester sees the export; files expire after `EXPIRES_AFTER`. A
finished export emits `crm.report.exported` (report, format, rows; never the data) for the audit
log.

The XLSX's data sheet (and the rows' CSV) holds the raw records the pivot counts, one row per
customer or order (`engine.underlying_source`, one query streamed from ClickHouse while the file is
written), with the native PivotTable built over them."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from typing import IO, Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_platform import jobs, outbox
from crm_platform.auth import Principal, principal_from, principal_json
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PermissionDenied
from crm_platform.ids import new_id
from crm_platform.jobs import JobWorker
from crm_platform.origin import current_origin
from crm_platform.runtime import ServiceRuntime
from crm_platform.tables import jobs as jobs_table
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.segment_object import segment_from_json, segment_json
from crm_reporting.reports import engine as report_engine
from crm_reporting.reports.files.render import CONTENT_TYPES, FORMATS, FileFormat, file_name, write_report_file
from crm_reporting.reports.service import saved_report_service
from crm_reporting.scope.service import report_scope
from crm_reporting.scope.tables import report_export_parts, report_exports

SOURCE: Final = "crm/reporting"
JOB_KIND: Final = "reports.export"
EXPIRES_AFTER: Final = timedelta(hours=24)
PART_BYTES: Final = 1024 * 1024
QUEUED, RUNNING, SUCCEEDED, FAILED, EXPIRED = "queued", "running", "succeeded", "failed", "expired"
RETRY_SCHEDULE: Final = [timedelta(seconds=s) for s in (2, 10, 30, 60, 300)]


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("no such export") from None


class ReportExports:
    async def create(self, session: AsyncSession, caller: Principal, report_id: str, fmt: str, *,
                     locale: str = "en", time_zone: str = "UTC",
                     view_filters: dict[str, str] | None = None, segment: Any = None) -> sa.Row[Any]:
        """`segment`: the `SegmentDefinition` of the report's `segment_id`, read by the gateway as
        the caller; kept with the export (as the view's filters are) for the job."""
        if fmt not in FORMATS:
            raise InvalidInput([FieldError("format", "invalid_choice", f"format must be one of {', '.join(FORMATS)}")])
        saved = await saved_report_service.get(session, caller, report_id)  # NotFound unless the caller sees it
        report_engine.check_segment(saved.definition, caller, segment)
        origin = current_origin()
        export_id = new_id()
        row = (await session.execute(sa.insert(report_exports).values(
            id=export_id, owner=caller.actor, access=principal_json(caller), report_id=saved.id,
            format=fmt, locale=locale, time_zone=time_zone, view_filters=view_filters or {},
            segment_definition=segment_json(segment), status=QUEUED,
            rows_done=0, file_name="", content_type=CONTENT_TYPES[fmt], size_bytes=0, parts=0, error="",
            ip=origin.ip, user_agent=origin.user_agent, created_at=sa.func.now(),
            expires_at=datetime.now(UTC) + EXPIRES_AFTER,
        ).returning(report_exports))).one()
        await jobs.enqueue(session, JOB_KIND, {"export_id": str(export_id)}, tenant_id=caller.tenant_id,
                           dedupe_key=f"{JOB_KIND}:{export_id}")
        return row

    async def get(self, session: AsyncSession, caller: Principal, export_id: str) -> sa.Row[Any]:
        row = (await session.execute(sa.select(report_exports).where(
            report_exports.c.id == _uuid(export_id), report_exports.c.owner == caller.actor))).first()
        if row is None:
            raise NotFound("no such export")
        if row.status != EXPIRED and row.expires_at <= datetime.now(UTC):
            await session.execute(sa.delete(report_export_parts).where(report_export_parts.c.export_id == row.id))
            row = (await session.execute(sa.update(report_exports).where(report_exports.c.id == row.id)
                                         .values(status=EXPIRED, parts=0).returning(report_exports))).one()
        return row

    async def progress(self, session: AsyncSession, row: Any) -> int:
        """Rows written so far by the export's job (the platform's jobs table)."""
        if row.status != RUNNING:
            return int(row.rows_done)
        done = (await session.execute(sa.select(jobs_table.c.progress_done).where(
            jobs_table.c.dedupe_key == f"{JOB_KIND}:{row.id}"))).scalar()
        return int(done or 0)

    async def read_part(self, session: AsyncSession, caller: Principal, export_id: str,
                        seq: int) -> tuple[bytes, sa.Row[Any], bool]:
        """(data, the export, last) of part `seq` of the finished file."""
        row = await self.get(session, caller, export_id)
        if row.status == EXPIRED:
            raise NotFound("the export expired", code="export_expired")
        if row.status != SUCCEEDED:
            raise Conflict("the export is not finished", code="export_not_ready", extra={"status": row.status})
        if not 0 <= seq < max(row.parts, 1):
            raise InvalidInput([FieldError("part", "out_of_range", f"parts are 0 to {max(row.parts, 1) - 1}")])
        data = (await session.execute(sa.select(report_export_parts.c.data).where(
            report_export_parts.c.export_id == row.id, report_export_parts.c.seq == seq))).scalar()
        return bytes(data or b""), row, seq >= row.parts - 1


class ExportRunner:
    """Handler of `reports.export` jobs (payload: export_id; the job's tenant)."""

    def __init__(self, engine: AsyncEngine, analytics: Analytics):
        self.engine = engine
        self.analytics = analytics

    async def __call__(self, job: jobs.Job) -> dict[str, Any]:
        assert job.tenant_id is not None
        export_id = uuid.UUID(job.payload["export_id"])
        async with tenant_session(self.engine, job.tenant_id) as session:
            row = (await session.execute(sa.select(report_exports).where(report_exports.c.id == export_id)
                                         .with_for_update())).first()
            if row is None or row.status in (SUCCEEDED, FAILED, EXPIRED):
                return {"status": row.status if row is not None else "missing"}
            await session.execute(sa.update(report_exports).where(report_exports.c.id == export_id)
                                  .values(status=RUNNING))
        caller = principal_from(row.access)
        try:
            async with tenant_session(self.engine, job.tenant_id) as session:
                saved = await saved_report_service.get(session, caller, str(row.report_id))
                request = report_engine.RunRequest(
                    saved.definition, title=saved.name, locale=row.locale, time_zone=row.time_zone,
                    view_filters=dict(row.view_filters), segment=segment_from_json(row.segment_definition))
                scope = await report_scope(session, caller)
                # Bounded: the report sheet's pivot reads the same per-customer joins as the rows.
                result = await report_engine.run(self.analytics, session, caller, request, scope=scope, bounded=True)
                underlying, source = (
                    await report_engine.underlying_source(self.analytics, session, caller, request, scope=scope)
                    if row.format in ("xlsx", "rows_csv") else (None, None))
        # The report was deleted, unshared, or no longer valid; or the requester may no longer count it.
        except (NotFound, InvalidInput, PermissionDenied) as exc:
            await self._fail(job.tenant_id, export_id, str(exc))
            return {"status": FAILED}
        await jobs.report_progress(self.engine, job.id, 0, None)
        fmt: FileFormat = row.format
        loop = asyncio.get_running_loop()

        def progress(done: int) -> None:
            asyncio.run_coroutine_threadsafe(jobs.report_progress(self.engine, job.id, done, None), loop)

        def render(out: IO[bytes]) -> int:
            # The records are streamed from ClickHouse as the writer reaches them.
            return write_report_file(fmt, result, underlying, out, source=source, progress=progress)

        with tempfile.TemporaryFile() as handle:
            # The renderers are synchronous (openpyxl, WeasyPrint): in a thread, so the service keeps serving.
            count = await asyncio.to_thread(render, handle)
            size = handle.tell()
            handle.seek(0)
            async with tenant_session(self.engine, job.tenant_id) as session:
                await session.execute(sa.delete(report_export_parts)
                                      .where(report_export_parts.c.export_id == export_id))
                seq = 0
                while chunk := handle.read(PART_BYTES):
                    await session.execute(sa.insert(report_export_parts).values(export_id=export_id, seq=seq,
                                                                                data=chunk))
                    seq += 1
                await session.execute(sa.update(report_exports).where(report_exports.c.id == export_id).values(
                    status=SUCCEEDED, rows_done=count, parts=seq, size_bytes=size, file_name=file_name(result, fmt),
                    finished_at=sa.func.now()))
                await outbox.add_event(
                    session, source=SOURCE, tenant_id=job.tenant_id, aggregate="report", verb="exported",
                    data={"export_id": str(export_id), "report_id": str(row.report_id), "actor": caller.actor,
                          "client_id": caller.client_id, "format": fmt, "rows": count, "size_bytes": size,
                          "ip": row.ip, "user_agent": row.user_agent},
                    subject_id=str(row.report_id),
                )
        await jobs.report_progress(self.engine, job.id, count, count)
        return {"status": SUCCEEDED, "rows": count}

    async def _fail(self, tenant_id: uuid.UUID, export_id: uuid.UUID, error: str) -> None:
        async with tenant_session(self.engine, tenant_id) as session:
            await session.execute(sa.update(report_exports).where(report_exports.c.id == export_id).values(
                status=FAILED, error=error[:2000], finished_at=sa.func.now()))


def export_worker(runtime: ServiceRuntime, analytics: Analytics) -> JobWorker:
    return JobWorker(runtime.engine, {JOB_KIND: ExportRunner(runtime.engine, analytics)}, RETRY_SCHEDULE,
                     concurrency=1, lease=timedelta(minutes=10))


report_exports_service = ReportExports()
