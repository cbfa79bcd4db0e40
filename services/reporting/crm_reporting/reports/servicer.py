"""gRPC ReportService (reports.proto): translation only (service.py, engine.py, templates.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Scope
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.grpc_server import Call, rpc
from crm_platform.i18n import locale_or_default, messages
from crm_proto.crm.reporting.v1 import reports_pb2 as pb
from crm_proto.crm.reporting.v1 import reports_pb2_grpc
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.segment_object import requested_segment
from crm_reporting.reports import engine
from crm_reporting.reports.definition import check_definition
from crm_reporting.reports.serialize import result_json
from crm_reporting.reports.service import SavedReport, saved_report_service
from crm_reporting.reports.templates import TEMPLATES, template_named


def _json(text: str, field: str = "definition") -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput([FieldError(field, "invalid_json", "a JSON object")]) from None


T = TypeVar("T")


def _prefix(exc: InvalidInput) -> InvalidInput:
    """The definition's field errors as the REST body names them (`definition.rows[1].field`)."""
    error = InvalidInput([FieldError(e.field if e.field in ("definition", "time_zone") else f"definition.{e.field}",
                                     e.code, e.message) for e in exc.errors], exc.message)
    error.extra = exc.extra
    return error


def _prefixed(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except InvalidInput as exc:
        raise _prefix(exc) from None


async def _prefixed_async(run: Awaitable[T]) -> T:
    try:
        return await run
    except InvalidInput as exc:
        raise _prefix(exc) from None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def report_pb(report: SavedReport) -> pb.Report:
    return pb.Report(
        id=str(report.id), name=report.name, description=report.description,
        definition_json=_dumps(report.definition.as_json()), visibility=report.visibility,
        team_id=str(report.team_id) if report.team_id else "", owner_id=report.owner_id,
        created_at=report.created_at.isoformat(), updated_at=report.updated_at.isoformat(), version=report.version,
        template=report.template, editable=report.editable,
    )


class ReportServicer(reports_pb2_grpc.ReportServiceServicer):
    def __init__(self, engine_: AsyncEngine, analytics: Analytics):
        self.engine = engine_
        self.analytics = analytics

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ListReports(self, request: pb.ListReportsRequest, call: Call) -> pb.ListReportsResponse:
        reports = await saved_report_service.visible(call.session, call.principal)
        return pb.ListReportsResponse(reports=[report_pb(r) for r in reports])

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetReport(self, request: pb.GetReportRequest, call: Call) -> pb.Report:
        return report_pb(await saved_report_service.get(call.session, call.principal, request.id))

    @rpc(Scope.REPORTS_READ)
    async def CreateReport(self, request: pb.CreateReportRequest, call: Call) -> pb.Report:
        return report_pb(await saved_report_service.create(
            call.session, call.principal, name=request.name, description=request.description,
            definition=_json(request.definition_json), visibility=request.visibility, team_id=request.team_id))

    @rpc(Scope.REPORTS_READ)
    async def UpdateReport(self, request: pb.UpdateReportRequest, call: Call) -> pb.Report:
        return report_pb(await saved_report_service.update(
            call.session, call.principal, request.id, list(request.update_mask), name=request.name,
            description=request.description, definition=_json(request.definition_json),
            visibility=request.visibility, team_id=request.team_id, expected_version=request.expected_version))

    @rpc(Scope.REPORTS_READ)
    async def DeleteReport(self, request: pb.DeleteReportRequest, call: Call) -> pb.DeleteReportResponse:
        deleted = await saved_report_service.delete(call.session, call.principal, request.id)
        return pb.DeleteReportResponse(report=report_pb(deleted))

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def RunReport(self, request: pb.RunReportRequest, call: Call) -> pb.RunReportResponse:
        if request.id:
            saved = await saved_report_service.get(call.session, call.principal, request.id)
            definition, title = saved.definition, saved.name
        else:
            definition = _prefixed(lambda: check_definition(_json(request.definition_json)))
            title = ""
        result = await _prefixed_async(engine.run(self.analytics, call.session, call.principal, engine.RunRequest(
            definition, title=title, locale=request.locale or "en", time_zone=request.time_zone or "UTC",
            view_filters=dict(request.view_filters), segment=requested_segment(request))))
        return pb.RunReportResponse(result_json=_dumps(result_json(result)),
                                    definition_json=_dumps(definition.as_json()))

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ListReportCellCustomers(self, request: pb.ListReportCellCustomersRequest,
                                      call: Call) -> pb.ListReportCellCustomersResponse:
        ids = await engine.cell_customers(self.analytics, call.session, call.principal, request.report,
                                          request.report_cell)
        return pb.ListReportCellCustomersResponse(customer_ids=ids)

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ListReportTemplates(self, request: pb.ListReportTemplatesRequest,
                                  call: Call) -> pb.ListReportTemplatesResponse:
        text = messages(locale_or_default(request.locale))
        return pb.ListReportTemplatesResponse(templates=[
            pb.ReportTemplate(key=t.key, name=text.text(t.name), description=text.text(t.description),
                              definition_json=_dumps(t.checked.as_json()))
            for t in TEMPLATES.values()
        ])

    @rpc(Scope.REPORTS_READ)
    async def CloneReport(self, request: pb.CloneReportRequest, call: Call) -> pb.Report:
        text = messages(locale_or_default(request.locale))
        if request.source_id:
            source = await saved_report_service.get(call.session, call.principal, request.source_id)
            name = request.name or text.gettext("Copy of %(name)s", name=source.name)
            definition, description, template = source.definition.as_json(), source.description, source.template
        else:
            if not request.template:
                raise InvalidInput([FieldError("source_id", "required", "a report id or a template")])
            found = template_named(request.template)
            name = request.name or text.text(found.name)
            definition, description, template = found.checked.as_json(), text.text(found.description), found.key
        return report_pb(await saved_report_service.create(
            call.session, call.principal, name=name, description=description, definition=definition,
            visibility="private", team_id="", template=template))
