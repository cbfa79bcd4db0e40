"""/v1/exports (API.md; kind `customers`): customer exports as jobs (HTTP <-> crm.customers.v1.CustomerExportService).
The file is streamed part by part from the service; only the user who asked can see it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_gateway.api.customer_views import FILTERS_DESCRIPTION
from crm_gateway.api.tags import check_saved_tag_filter
from crm_gateway.clients import Backends, Caller
from crm_gateway.web.labels import export_words
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import exports_pb2 as pb

# API.md: one exports resource for every kind; `customers` is the only kind so far.
router = APIRouter(prefix="/v1/exports", tags=["customer exports"])
ExportKind = Literal["customers"]


class CustomerExport(Resource):
    id: str
    kind: ExportKind = "customers"
    status: str = Field(description="queued, running, succeeded, failed or expired")
    format: str = Field(description="csv (UTF-8 with BOM) or xlsx")
    filters: dict[str, str] = Field(description=FILTERS_DESCRIPTION)
    order_by: str | None
    columns: list[str] = Field(description="The file's columns; fields your role hides are left out")
    rows_done: int
    rows_total: int
    file_name: str
    size_bytes: int
    error: str | None
    created_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(description="After this the file is deleted (24 h)")
    file_url: str | None = Field(description="Where to download the file once `succeeded`")


class CustomerExportCreate(RequestBody):
    kind: ExportKind = Field(description="What to export")
    filters: dict[str, str] = Field(default_factory=dict, description=FILTERS_DESCRIPTION)
    order_by: str | None = Field(None, description="As the list's `order_by`; default created_at desc")
    format: Literal["csv", "xlsx"] = "csv"
    columns: list[str] | None = Field(
        None, max_length=60, description="Columns in order (field names, `cf.<key>`); default: all you may see"
    )


def export_out(message: Any) -> CustomerExport:
    return CustomerExport(
        id=message.id, status=message.status, format=message.format, filters=dict(message.filters),
        order_by=message.order_by or None, columns=list(message.columns), rows_done=message.rows_done,
        rows_total=message.rows_total, file_name=message.file_name, size_bytes=message.size_bytes,
        error=message.error or None, created_at=timestamp(message.created_at),
        finished_at=timestamp(message.finished_at), expires_at=timestamp(message.expires_at),
        file_url=f"{router.prefix}/{message.id}/file" if message.status == "succeeded" else None,
    )


@router.post(
    "",
    response_model=CustomerExport,
    **operation(
        operation_id="createCustomerExport", summary="Export customers (a job; 202 with its `Location`)",
        scopes=[Scope.CUSTOMERS_EXPORT],
        errors=[*WRITE_ERRORS], status_code=202,
        description="Filters, data scope and field policies apply exactly as to `GET /v1/customers`: hidden "
                    "columns are left out, masked values masked, sensitive fields always masked. Poll the "
                    "export for progress; every finished export is written to the audit log.",
    ),
)
async def create_export(body: CustomerExportCreate, response: Response, caller: CallerDep,
                        services: BackendsDep) -> CustomerExport:
    await check_saved_tag_filter(caller, services, body.filters)
    column_labels, value_labels = export_words(caller.locale)
    reply = await caller.call(
        services.customer_exports.CreateCustomerExport,
        pb.CreateCustomerExportRequest(filters=body.filters, order_by=body.order_by or "", format=body.format,
                                       columns=body.columns or [], column_labels=column_labels,
                                       value_labels=value_labels),
    )
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return export_out(reply)


@router.get(
    "/{export_id}",
    response_model=CustomerExport,
    **operation(operation_id="getCustomerExport", summary="An export's progress and state",
                scopes=[Scope.CUSTOMERS_EXPORT], errors=[404]),
)
async def get_export(export_id: str, caller: CallerDep, services: BackendsDep) -> CustomerExport:
    reply = await caller.call(services.customer_exports.GetCustomerExport, pb.GetCustomerExportRequest(id=export_id))
    return export_out(reply)


async def _parts(caller: Caller, services: Backends, export_id: str, first: Any) -> AsyncIterator[bytes]:
    part = first
    yield bytes(part.data)
    while not part.last:
        part = await caller.call(services.customer_exports.ReadCustomerExportFile,
                                 pb.ReadCustomerExportFileRequest(id=export_id, part=part.next_part))
        yield bytes(part.data)


DOWNLOAD = operation(
    operation_id="downloadCustomerExport", summary="Download a finished export", scopes=[Scope.CUSTOMERS_EXPORT],
    errors=[404, 409],
    description="409 `export_not_ready` until the export succeeded; 404 `export_expired` after 24 h.",
)
DOWNLOAD["responses"][200] = {
    "description": "The file (CSV or XLSX)",
    "content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
}


@router.get("/{export_id}/file", response_class=StreamingResponse, **DOWNLOAD)
async def download_export(export_id: str, caller: CallerDep, services: BackendsDep) -> StreamingResponse:
    # The first part is read before answering, so a refusal is a proper problem response.
    first = await caller.call(services.customer_exports.ReadCustomerExportFile,
                              pb.ReadCustomerExportFileRequest(id=export_id, part=0))
    headers = {
        "Content-Disposition": f"attachment; filename=\"{first.file_name}\"; "
                               f"filename*=UTF-8''{quote(first.file_name)}",
        "Cache-Control": "no-store",
    }
    return StreamingResponse(_parts(caller, services, export_id, first), media_type=first.content_type,
                             headers=headers)
