"""/v1/reports/{report_id}/exports: a saved report as a file (CSV, the rows' CSV, XLSX with a
native PivotTable, PDF), made by a job (HTTP <-> crm.reporting.v1.ReportExportService;
docs/reporting.md, "Report exports"). The job runs the report again under the requester's own
data scope and field policies; only the requester sees the export; the file streams part by part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from crm_gateway.api.common import WRITE_ERRORS, BackendsDep, CallerDep, RequestBody, Resource, operation, timestamp
from crm_gateway.api.saved_reports import ReportId, report_audience, tenant_time_zone
from crm_gateway.clients import Backends, Caller
from crm_gateway.problems import Problem
from crm_platform.auth import Scope
from crm_proto.crm.reporting.v1 import report_exports_pb2 as pb

router = APIRouter(tags=["report exports"])
ExportFormat = Literal["csv", "rows_csv", "xlsx", "pdf"]
ExportId = Annotated[str, Path(max_length=40, description="A report export's id")]
FORMAT_DOC = ("`csv`: the pivot as laid out (UTF-8 with BOM, subtotals and totals); `rows_csv`: the rows it was "
              "computed from; `xlsx`: the pivot with number formats and a chart, the rows as an Excel Table and a "
              "native PivotTable over them that refreshes on open; `pdf`: title, filters, chart and table")


class ReportExport(Resource):
    id: str
    report_id: str
    status: str = Field(description="queued, running, succeeded, failed or expired")
    format: str = Field(description=FORMAT_DOC)
    rows_done: int = Field(description="Rows written (while running: so far)")
    file_name: str
    size_bytes: int
    error: str | None
    created_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="After this the file is deleted (24 h)")
    file_url: str | None = Field(description="Where to download the file once `succeeded`")


class ReportExportCreate(RequestBody):
    format: ExportFormat = Field(description=FORMAT_DOC)


def _path(report_id: str, export_id: str) -> str:
    return f"/v1/reports/{report_id}/exports/{export_id}"


def export_out(message: Any) -> ReportExport:
    running = message.status == "running"
    return ReportExport(
        id=message.id, report_id=message.report_id, status=message.status, format=message.format,
        rows_done=message.progress_done if running else message.rows_done, file_name=message.file_name,
        size_bytes=message.size_bytes, error=message.error or None, created_at=timestamp(message.created_at),
        finished_at=timestamp(message.finished_at), expires_at=timestamp(message.expires_at),
        file_url=f"{_path(message.report_id, message.id)}/file" if message.status == "succeeded" else None,
    )


async def _owned(caller: Caller, services: Backends, report_id: str, export_id: str) -> Any:
    reply = await caller.call(services.report_exports.GetReportExport, pb.GetReportExportRequest(id=export_id))
    if reply.report_id != report_id:  # an export of another report: as absent as any other
        raise Problem(404, "not_found")
    return reply


@router.post(
    "/v1/reports/{report_id}/exports",
    response_model=ReportExport,
    **operation(
        operation_id="createReportExport", summary="Export a saved report to a file (a job; 202 with `Location`)",
        scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404], status_code=202,
        description="The job runs the report again under YOUR data scope and field policies (whoever saved it) "
                    "and writes the file in your language and the tenant's time zone. Poll the export for "
                    "progress; every finished export is written to the audit log (`report.exported`).",
    ),
)
async def create_report_export(report_id: ReportId, body: ReportExportCreate, response: Response, caller: CallerDep,
                               services: BackendsDep) -> ReportExport:
    saved_id, filters, segment = await report_audience(caller, services, str(report_id))
    reply = await caller.call(services.report_exports.CreateReportExport, pb.CreateReportExportRequest(
        report_id=saved_id, format=body.format, locale=caller.locale,
        time_zone=await tenant_time_zone(caller, services), view_filters=filters, segment_definition=segment))
    response.headers["Location"] = _path(reply.report_id, reply.id)
    return export_out(reply)


@router.get(
    "/v1/reports/{report_id}/exports/{report_export_id}",
    response_model=ReportExport,
    **operation(operation_id="getReportExport", summary="A report export's progress and state",
                scopes=[Scope.REPORTS_READ], errors=[404]),
)
async def get_report_export(report_id: ReportId, report_export_id: ExportId, caller: CallerDep,
                            services: BackendsDep) -> ReportExport:
    return export_out(await _owned(caller, services, str(report_id), str(report_export_id)))


async def _parts(caller: Caller, services: Backends, export_id: str, first: Any) -> AsyncIterator[bytes]:
    part = first
    yield bytes(part.data)
    while not part.last:
        part = await caller.call(services.report_exports.ReadReportExportFile,
                                 pb.ReadReportExportFileRequest(id=export_id, part=part.next_part))
        yield bytes(part.data)


DOWNLOAD = operation(
    operation_id="downloadReportExport", summary="Download a finished report export", scopes=[Scope.REPORTS_READ],
    errors=[404, 409],
    description="409 `export_not_ready` until the export succeeded; 404 `export_expired` after 24 h.",
)
DOWNLOAD["responses"][200] = {
    "description": "The file",
    "content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "application/pdf": {}},
}


@router.get("/v1/reports/{report_id}/exports/{report_export_id}/file", response_class=StreamingResponse,
            **DOWNLOAD)
async def download_report_export(report_id: ReportId, report_export_id: ExportId, caller: CallerDep,
                                 services: BackendsDep) -> StreamingResponse:
    await _owned(caller, services, str(report_id), str(report_export_id))
    # The first part is read before answering, so a refusal is a proper problem response.
    first = await caller.call(services.report_exports.ReadReportExportFile,
                              pb.ReadReportExportFileRequest(id=str(report_export_id), part=0))
    headers = {
        "Content-Disposition": f"attachment; filename=\"{quote(first.file_name)}\"; "
                               f"filename*=UTF-8''{quote(first.file_name)}",
        "Cache-Control": "no-store",
    }
    return StreamingResponse(_parts(caller, services, str(report_export_id), first),
                             media_type=first.content_type, headers=headers)
