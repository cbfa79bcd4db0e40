"""Customer exports (docs/customers.md, "Export"): the requester asks with the list's filters; a
job (`customers.export`, crm_platform/jobs.py) acts as the requester (a snapshot of their access in
the export row, never the token), pages through `CustomerService.list` (same data scope, same
filters) and writes each customer as `CustomerServicer` would reply to them (`apply_field_policies`:
hidden fields gone, masked fields masked, sensitive fields always masked). Columns the requester's
field policies hide are left out of the file entirely.

Resumable: each page's CSV text and the next page token are stored in one transaction, so a job
re-run after a crash continues after the last stored page. XLSX is built from those pages at the
end. Finished exports emit `crm.customer.exported` (rows, filters, format, columns) for identity's
audit log. Files expire after `EXPIRES_AFTER`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_customers.customer import access
from crm_customers.customer.schemas import to_proto
from crm_customers.customer.service import CustomerService
from crm_customers.customer.tables import user_teams
from crm_customers.exports import files, repository
from crm_customers.fields import service as fields
from crm_customers.search import filters as list_filters
from crm_platform import jobs, outbox
from crm_platform.auth import Principal, principal_from, principal_json
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound
from crm_platform.ids import new_id, parse_uuid
from crm_platform.origin import current_origin

SOURCE: Final = "crm/customers"
JOB_KIND: Final = "customers.export"
FORMATS: Final = ("csv", "xlsx")
PAGE: Final = 500
EXPIRES_AFTER: Final = timedelta(hours=24)
ROWS, FILE = "rows", "file"
QUEUED, RUNNING, SUCCEEDED, FAILED, EXPIRED = "queued", "running", "succeeded", "failed", "expired"


def visible_columns(caller: Principal, wanted: list[str]) -> list[str]:
    """The requested columns (default: all standard ones) minus those the caller may not read."""
    return [c for c in (wanted or list(list_filters.COLUMNS)) if access.readable(caller, c)]


def _labels(given: Mapping[str, str] | None) -> dict[str, str]:
    """Labels as given, cut to sane sizes (they are the gateway's catalogue text, not user input)."""
    return {str(k)[:100]: str(v)[:200] for k, v in list((given or {}).items())[:500]}


async def header(session: AsyncSession, row: Any) -> list[str]:
    """The file's header row: the requester's words for each column, a custom field's own label."""
    custom = {d.key: d.label for d in await fields.list_all(session)} \
        if any(c.startswith(list_filters.CUSTOM_PREFIX) for c in row.columns) else {}
    return files.Words.stored(row.labels).header(row.columns, custom)


async def owner_names(session: AsyncSession, owner_ids: set[Any]) -> dict[str, str]:
    ids = [o for o in owner_ids if o]
    if not ids:
        return {}
    rows = await session.execute(sa.select(user_teams.c.user_id, user_teams.c.display_name)
                                 .where(user_teams.c.user_id.in_(ids)))
    return {str(r.user_id): r.display_name for r in rows if r.display_name}


def file_name(row: Any) -> str:
    stamp = row.created_at.astimezone(UTC).strftime("%Y%m%d-%H%M%S") if row.created_at else "export"
    return f"customers-{stamp}.{row.format}"


class CustomerExports:
    def __init__(self, customers: CustomerService):
        self.customers = customers

    async def create(self, session: AsyncSession, caller: Principal, filters: dict[str, str], order_by: str,
                     format: str, columns: list[str], column_labels: Mapping[str, str] | None = None,
                     value_labels: Mapping[str, str] | None = None) -> sa.Row[Any]:
        errors: list[FieldError] = []
        if format not in FORMATS:
            errors.append(FieldError("format", "invalid_choice", "format must be csv or xlsx"))
        errors += await list_filters.check_columns(session, columns)
        try:
            await list_filters.validate(session, self.customers, caller, filters, order_by)
        except InvalidInput as exc:
            errors += exc.errors
        hidden = [c for c in columns if not access.readable(caller, c)]
        errors += [FieldError("columns", "field_hidden", f"your role may not see {c}") for c in hidden]
        if errors:
            raise InvalidInput(errors)
        origin = current_origin()
        export_id = new_id()
        row = await repository.insert(session, {
            "id": export_id, "owner": caller.actor, "access": principal_json(caller), "filters": filters,
            "order_by": order_by, "columns": visible_columns(caller, columns), "format": format, "status": QUEUED,
            "rows_done": 0, "rows_total": 0, "next_page_token": "", "parts": 0, "file_parts": 0, "size_bytes": 0,
            "error": "", "ip": origin.ip, "user_agent": origin.user_agent,
            "expires_at": datetime.now(UTC) + EXPIRES_AFTER,
            "labels": {"columns": _labels(column_labels), "values": _labels(value_labels)},
        })
        await jobs.enqueue(session, JOB_KIND, {"export_id": str(export_id)}, tenant_id=caller.tenant_id,
                           dedupe_key=f"{JOB_KIND}:{export_id}")
        return row

    async def get(self, session: AsyncSession, caller: Principal, export_id: str) -> sa.Row[Any]:
        row = await repository.get(session, parse_uuid(export_id, "export"), caller.actor)
        if row is None:
            raise NotFound("export not found")
        if row.status != EXPIRED and row.expires_at <= datetime.now(UTC):
            await repository.delete_expired(session)
            row = await repository.get(session, row.id, caller.actor)
            assert row is not None
        return row

    async def read_part(self, session: AsyncSession, caller: Principal, export_id: str,
                        seq: int) -> tuple[bytes, str, str, bool]:
        """(data, content type, file name, last) of part `seq` of the finished file."""
        row = await self.get(session, caller, export_id)
        if row.status == EXPIRED:
            raise NotFound("the export expired", code="export_expired")
        if row.status != SUCCEEDED:
            raise Conflict("the export is not finished", code="export_not_ready", extra={"status": row.status})
        if row.format == "csv":
            # Part 0: BOM and header; then the stored pages.
            count = row.parts + 1
            if seq == 0:
                data = (files.BOM + files.csv_text([await header(session, row)])).encode()
            else:
                data = await repository.part(session, row.id, ROWS, seq - 1) or b""
            content_type = files.CSV_TYPE
        else:
            count = row.file_parts
            data = await repository.part(session, row.id, FILE, seq) or b""
            content_type = files.XLSX_TYPE
        if not 0 <= seq < max(count, 1):
            raise InvalidInput([FieldError("part", "out_of_range", f"parts are 0 to {count - 1}")])
        return data, content_type, file_name(row), seq >= count - 1


class ExportRunner:
    """Handler of `customers.export` jobs (payload: export_id; the job's tenant)."""

    def __init__(self, engine: AsyncEngine, customers: CustomerService, page: int = PAGE):
        self.engine = engine
        self.customers = customers
        self.page = page

    async def __call__(self, job: jobs.Job) -> dict[str, Any]:
        assert job.tenant_id is not None
        export_id = uuid.UUID(job.payload["export_id"])
        try:
            if await self.start(job.tenant_id, export_id, job.id):
                while not await self.step(job.tenant_id, export_id, job.id):
                    pass
                await self.finish(job.tenant_id, export_id)
        except InvalidInput as exc:  # the requester's filter stopped being valid (e.g. a field removed)
            async with tenant_session(self.engine, job.tenant_id) as session:
                await repository.update(session, export_id, {
                    "status": FAILED, "error": "; ".join(f"{e.field}: {e.code}" for e in exc.errors),
                    "finished_at": sa.func.now(),
                })
        async with tenant_session(self.engine, job.tenant_id) as session:
            row = await repository.get(session, export_id)
        assert row is not None
        return {"status": row.status, "rows": row.rows_done}

    async def start(self, tenant_id: uuid.UUID, export_id: uuid.UUID, job_id: uuid.UUID) -> bool:
        """Counts the rows once (a resumed job keeps its count); False when there is nothing to do."""
        async with tenant_session(self.engine, tenant_id) as session:
            row = await repository.get(session, export_id, lock=True)
            if row is None or row.status in (SUCCEEDED, FAILED, EXPIRED):
                return False
            if row.status == QUEUED:
                query, _ = list_filters.list_arguments(row.filters)
                total = await self.customers.count(session, caller=principal_from(row.access), query=query)
                await repository.update(session, export_id, {"status": RUNNING, "rows_total": total})
                await jobs.report_progress(self.engine, job_id, 0, total)
            return True

    async def step(self, tenant_id: uuid.UUID, export_id: uuid.UUID, job_id: uuid.UUID) -> bool:
        """One page into one stored part, with the resume point, in one transaction; True at the end."""
        async with tenant_session(self.engine, tenant_id) as session:
            row = await repository.get(session, export_id, lock=True)  # one runner at a time
            if row is None or row.status != RUNNING:
                return True
            if row.parts > 0 and not row.next_page_token:
                return True
            caller = principal_from(row.access)
            query, _ = list_filters.list_arguments(row.filters)
            found, token = await self.customers.list(session, caller=caller, size=self.page,
                                                     token=row.next_page_token, order_by=row.order_by, query=query)
            columns = list(row.columns)
            owners = await owner_names(session, {c.owner_id for c in found}) if "owner_id" in columns else {}
            words = files.Words.stored(row.labels, owners)
            lines = []
            for customer in found:
                message = access.apply_field_policies(caller, to_proto(customer))
                lines.append([files.cell(message, c, words) for c in columns])
            await repository.add_part(session, export_id, ROWS, row.parts, files.csv_text(lines).encode())
            done = row.rows_done + len(found)
            await repository.update(session, export_id, {
                "rows_done": done, "next_page_token": token, "parts": row.parts + 1,
            })
        await jobs.report_progress(self.engine, job_id, done, max(row.rows_total, done))
        return not token

    async def finish(self, tenant_id: uuid.UUID, export_id: uuid.UUID) -> None:
        """Builds the XLSX (if asked), marks the export done and emits the audit event."""
        async with tenant_session(self.engine, tenant_id) as session:
            row = await repository.get(session, export_id, lock=True)
            if row is None or row.status != RUNNING:
                return
            if row.format == "xlsx":
                await repository.drop_parts(session, export_id, FILE)
                # openpyxl is synchronous: in a thread, so a large workbook does not stall the service.
                workbook = files.XlsxFile(await header(session, row))
                async for page in self._pages(session, row):
                    await asyncio.to_thread(workbook.add_page, page)
                count = 0
                with await asyncio.to_thread(workbook.save) as saved:
                    while chunk := saved.read(files.XLSX_PART_BYTES):
                        await repository.add_part(session, export_id, FILE, count, chunk)
                        count += 1
                size = await repository.parts_size(session, export_id, FILE)
            else:
                count = 0
                size = len((files.BOM + files.csv_text([await header(session, row)])).encode()) + \
                    await repository.parts_size(session, export_id, ROWS)
            await repository.update(session, export_id, {
                "status": SUCCEEDED, "file_parts": count, "size_bytes": size, "finished_at": sa.func.now(),
                "rows_total": row.rows_done,
            })
            caller = principal_from(row.access)
            await outbox.add_event(
                session, source=SOURCE, tenant_id=tenant_id, aggregate="customer", verb="exported",
                data={"export_id": str(export_id), "actor": caller.actor, "client_id": caller.client_id,
                      "format": row.format, "rows": row.rows_done, "filters": dict(row.filters),
                      "columns": list(row.columns), "ip": row.ip, "user_agent": row.user_agent},
                subject_id=str(export_id),
            )

    async def _pages(self, session: AsyncSession, row: Any) -> AsyncIterator[str]:
        for seq in range(row.parts):
            data = await repository.part(session, row.id, ROWS, seq)
            yield (data or b"").decode()
