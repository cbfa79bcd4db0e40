"""gRPC transport for report exports: translation only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.reporting.v1 import report_exports_pb2 as pb
from crm_proto.crm.reporting.v1 import report_exports_pb2_grpc
from crm_reporting.dashboards.segment_object import requested_segment
from crm_reporting.reports.exports import report_exports_service


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def export_proto(row: Any, progress_done: int = 0) -> pb.ReportExport:
    return pb.ReportExport(
        id=str(row.id), report_id=str(row.report_id), status=row.status, format=row.format, rows_done=row.rows_done,
        file_name=row.file_name, size_bytes=row.size_bytes, error=row.error, created_at=_ts(row.created_at),
        finished_at=_ts(row.finished_at), expires_at=_ts(row.expires_at), progress_done=progress_done,
    )


class ReportExportServicer(report_exports_pb2_grpc.ReportExportServiceServicer):
    def __init__(self, engine: AsyncEngine):
        self.engine = engine  # the `rpc` edge opens the caller's tenant session on it

    @rpc(Scope.REPORTS_READ)
    async def CreateReportExport(self, request: pb.CreateReportExportRequest, call: Call) -> pb.ReportExport:
        return export_proto(await report_exports_service.create(
            call.session, call.principal, request.report_id, request.format, locale=request.locale or "en",
            time_zone=request.time_zone or "UTC", view_filters=dict(request.view_filters),
            segment=requested_segment(request)))

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetReportExport(self, request: pb.GetReportExportRequest, call: Call) -> pb.ReportExport:
        row = await report_exports_service.get(call.session, call.principal, request.id)
        return export_proto(row, await report_exports_service.progress(call.session, row))

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ReadReportExportFile(self, request: pb.ReadReportExportFileRequest,
                                   call: Call) -> pb.ReportExportFilePart:
        data, row, last = await report_exports_service.read_part(call.session, call.principal, request.id,
                                                                 request.part)
        return pb.ReportExportFilePart(data=data, content_type=row.content_type, file_name=row.file_name,
                                       last=last, next_part=request.part + 1)
