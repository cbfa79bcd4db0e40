"""/v1/reports (saved report definitions, running them) and /v1/report-templates: HTTP <->
crm.reporting.v1.ReportService (docs/reporting.md, "Report builder"). The existing
/v1/reports/<name> analytics (reports.py) keep their paths: report ids here are UUIDs."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from crm_gateway.api.common import WRITE_ERRORS, BackendsDep, CallerDep, Multiline, Name, RequestBody, operation
from crm_gateway.api.dashboards import saved_segment
from crm_gateway.clients import Backends, Caller, UpstreamError
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import segments_pb2, views_pb2
from crm_proto.crm.identity.v1 import identity_pb2
from crm_proto.crm.reporting.v1 import reports_pb2 as pb

router = APIRouter(tags=["reports"])

VISIBILITY_DOC = ("`private` (you), `team` (a team you are in: `team_id`, default your own), `tenant` "
                  "(everyone; needs `reports:manage`)")
RUN_DOC = ("Computed under YOUR data scope and field policies, whoever saved the report: a dimension, filter or "
           "time field your policies hide is 403 `field_hidden`; a measure over such a field is left out and "
           "named in `omitted_fields`. More than 1,000,000 cells is 400 `too_many_cells` (never cut).")


class DimensionIn(RequestBody):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=60, description="industry, region, status, type, owner, team, source, customer, "
                       "created_at, first_contact_date, value_segment, cf.<key>; orders also order_status, "
                       "order_kind, currency, ordered_on")
    bucket: Literal["day", "week", "month", "quarter", "year"] | None = Field(
        default=None, description="Time fields: the bucket (tenant's time zone); default month")
    level: int | None = Field(default=None, ge=0, le=9, description="region: 1-3, the level of the region tree")


class MeasureIn(RequestBody):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    agg: str = Field(max_length=30, description="count, distinct_customers, sum, avg, min, max, conversion")
    field: str | None = Field(default=None, max_length=60, description="sum/avg/min/max: annual_spend, "
                              "lifetime_value, order_count, cf.<number key>; orders: amount")
    from_: str | None = Field(default=None, alias="from", max_length=20, description="conversion: from status")
    to: str | None = Field(default=None, max_length=20, description="conversion: to status")


class FilterIn(RequestBody):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(max_length=60)
    op: str = Field(default="eq", max_length=20, description="eq, ne, in, not_in, gt, gte, lt, lte, contains, "
                    "prefix, is_empty, not_empty (by field kind)")
    values: list[str] = Field(default_factory=list, max_length=100)


class TimeRangeIn(RequestBody):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    range: str = Field(default="all", max_length=10, description="all, 3m, 12m, ytd, custom")
    field: str = Field(default="", max_length=60, description="created_at (default for customers), "
                       "first_contact_date, ordered_on (default for orders)")
    from_: str = Field(default="", alias="from", max_length=10, description="custom: YYYY-MM-DD")
    to: str = Field(default="", max_length=10, description="custom: YYYY-MM-DD, inclusive")


class SortIn(RequestBody):
    model_config = ConfigDict(extra="forbid")
    by: str = Field(default="measure", max_length=10, description="measure or label")
    measure: int = Field(default=0, ge=0, le=100, description="Index into measures")
    direction: Literal["asc", "desc"] = "desc"


class Definition(RequestBody):
    """A report definition (docs/reporting.md, "Definition")."""

    model_config = ConfigDict(extra="forbid")
    object: str = Field(max_length=20, description="customers, orders, followup_records, feedback or customer_activity")
    rows: list[DimensionIn] = Field(default_factory=list, max_length=10, description="Up to 3 row dimensions")
    column: DimensionIn | None = Field(default=None, description="One column dimension")
    measures: list[MeasureIn] = Field(default_factory=lambda: [MeasureIn(agg="count")], max_length=20)
    filters: list[FilterIn] = Field(default_factory=list, max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20, description="Customers carrying every tag")
    view_id: str = Field(default="", max_length=40, description="A saved customer view (its filters, read as you)")
    segment_id: str = Field(default="", max_length=40, description="A saved segment (read as you): the report "
                            "counts its customers; not with view_id")
    time_range: TimeRangeIn = Field(default_factory=TimeRangeIn)
    sort: SortIn = Field(default_factory=SortIn)
    top_n: int = Field(default=0, ge=0, le=100000, description="Top N of the first row dimension, the rest as "
                       "Others (0: all)")
    chart: str = Field(default="table", max_length=10, description="table, bar, line, pie")
    # The reporting service checks the code (`invalid_currency`); the limit here only bounds the text.
    currency: str = Field(default="CNY", max_length=10, description="Money measures count this currency (ISO 4217)")


class Report(BaseModel):
    id: str
    name: str
    description: str
    definition: dict[str, Any]
    visibility: Literal["private", "team", "tenant"]
    team_id: str
    owner_id: str
    template: str = Field(description="The quick template it was cloned from, or ''")
    editable: bool = Field(description="You may change and delete it")
    version: int
    created_at: str
    updated_at: str


class ReportList(BaseModel):
    reports: list[Report]


class ReportIn(RequestBody):
    name: Name = Field(max_length=200)
    description: Multiline = Field(default="", max_length=2000)
    definition: Definition
    visibility: Literal["private", "team", "tenant"] = "private"
    team_id: str = Field(default="", max_length=40)


class ReportPatch(RequestBody):
    name: Name | None = Field(default=None, max_length=200)
    description: Multiline | None = Field(default=None, max_length=2000)
    definition: Definition | None = None
    visibility: Literal["private", "team", "tenant"] | None = None
    team_id: str | None = Field(default=None, max_length=40)
    expected_version: int = Field(default=0, ge=0, description="0: no check; else 412 `version_mismatch`")


class RunIn(RequestBody):
    definition: Definition


class CloneIn(RequestBody):
    name: Name = Field(default="", max_length=200, description="Default: the source's name")


class Labelled(BaseModel):
    key: str
    label: str


class MeasureOut(Labelled):
    kind: Literal["count", "number", "money", "percent"]
    currency: str


class Cell(BaseModel):
    rows: list[str | None] = Field(description="Row labels; null where rolled up (a subtotal; all null: the "
                                   "grand total)")
    column: str | None = Field(description="Column label; null: the total across columns")
    keys: list[str | None] = Field(description="The raw values behind `rows`")
    column_key: str | None
    values: list[str | int | None] = Field(description="One per measure: counts as integers, amounts and "
                                           "rates as decimal strings")
    filter: dict[str, str] = Field(description="`GET /v1/customers` parameters listing exactly these customers "
                                   "({}: every customer you see); a `report_cell` goes with the result's "
                                   "`cell_report` as `report`")


class FilterLine(BaseModel):
    label: str
    value: str


class PivotResult(BaseModel):
    title: str
    rows: list[Labelled]
    column: Labelled | None
    measures: list[MeasureOut]
    column_values: list[str]
    column_keys: list[str]
    cells: list[Cell]
    filters: list[FilterLine]
    chart: Literal["table", "bar", "line", "pie"]
    locale: str
    time_zone: str
    generated_at: str
    omitted_fields: list[str] = Field(description="Fields whose measures your field policies left out")
    cell_report: str = Field("", description="The `report` list parameter of the cells whose `filter` is a "
                                             "`report_cell` (docs/reporting.md, \"Click-throughs\")")


class RunResult(BaseModel):
    definition: dict[str, Any]
    result: PivotResult


class Template(BaseModel):
    key: str
    name: str
    description: str
    definition: dict[str, Any]


class TemplateList(BaseModel):
    templates: list[Template]


def _definition_json(definition: Definition) -> str:
    return json.dumps(definition.model_dump(by_alias=True, exclude_none=True), ensure_ascii=False)


def _report(reply: pb.Report) -> Report:
    return Report(id=reply.id, name=reply.name, description=reply.description,
                  definition=json.loads(reply.definition_json), visibility=reply.visibility,  # type: ignore[arg-type]
                  team_id=reply.team_id, owner_id=reply.owner_id, template=reply.template, editable=reply.editable,
                  version=reply.version, created_at=reply.created_at, updated_at=reply.updated_at)


async def tenant_time_zone(caller: Caller, services: Backends) -> str:
    try:
        tenant = await caller.call(services.identity.GetTenant, identity_pb2.GetTenantRequest())
    except UpstreamError:
        return "UTC"
    return str(tenant.time_zone) or "UTC"


async def saved_view_filters(caller: Caller, services: Backends, view_id: str) -> dict[str, str]:
    if not view_id:
        return {}
    reply = await caller.call(services.customer_views.GetCustomerView, views_pb2.GetCustomerViewRequest(id=view_id))
    return dict(reply.filters)


async def report_audience(caller: Caller, services: Backends,
                          report_id: str) -> tuple[str, dict[str, str], segments_pb2.SegmentDefinition | None]:
    """(id, the view's filters, the segment's definition) of a saved report the caller may read
    (else 404), both read with the caller's token: what a run that is only queued (an export, a share
    link, a subscription) keeps as the caller saw it, as `view_filters` are kept."""
    saved = await caller.call(services.reports.GetReport, pb.GetReportRequest(id=report_id))
    stored = json.loads(saved.definition_json)
    segment_id = str(stored.get("segment_id") or "")
    return (saved.id, await saved_view_filters(caller, services, str(stored.get("view_id") or "")),
            await saved_segment(caller, services, segment_id) if segment_id else None)


async def _run(caller: Caller, services: Backends, *, report_id: str = "", definition: Definition | None = None,
               view_id: str = "", segment_id: str = "") -> RunResult:
    request = pb.RunReportRequest(id=report_id, definition_json=_definition_json(definition) if definition else "",
                                  locale=caller.locale, time_zone=await tenant_time_zone(caller, services),
                                  view_filters=await saved_view_filters(caller, services, view_id),
                                  segment_definition=await saved_segment(caller, services, segment_id)
                                  if segment_id else None)
    reply = await caller.call(services.reports.RunReport, request)
    return RunResult(definition=json.loads(reply.definition_json), result=json.loads(reply.result_json))


@router.get("/v1/reports", response_model=ReportList,
            **operation(operation_id="listSavedReports", summary="Saved reports you may see",
                        scopes=[Scope.REPORTS_READ],
                        description="Your private reports, your teams' and the tenant-wide ones, newest first."))
async def list_reports(caller: CallerDep, services: BackendsDep) -> ReportList:
    reply = await caller.call(services.reports.ListReports, pb.ListReportsRequest())
    return ReportList(reports=[_report(r) for r in reply.reports])


@router.post("/v1/reports", response_model=Report,
             **operation(operation_id="createSavedReport", summary="Save a report definition",
                         scopes=[Scope.REPORTS_READ], status_code=201, errors=[*WRITE_ERRORS],
                         description="Visibility: " + VISIBILITY_DOC + ". Definition errors are 400 naming the "
                                     "field (`definition.rows[1].field` `unknown_dimension`, ...)."))
async def create_report(body: ReportIn, caller: CallerDep, services: BackendsDep, response: Response) -> Report:
    reply = await caller.call(services.reports.CreateReport, pb.CreateReportRequest(
        name=body.name, description=body.description, definition_json=_definition_json(body.definition),
        visibility=body.visibility, team_id=body.team_id))
    response.headers["Location"] = f"/v1/reports/{reply.id}"
    return _report(reply)


@router.post("/v1/reports:run", response_model=RunResult,
             **operation(operation_id="runReportDefinition", summary="Run an unsaved report definition",
                         scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404], description=RUN_DOC))
async def run_definition(body: RunIn, caller: CallerDep, services: BackendsDep) -> RunResult:
    return await _run(caller, services, definition=body.definition, view_id=body.definition.view_id,
                      segment_id=body.definition.segment_id)


ReportId = Annotated[str, Path(max_length=40, description="A saved report's id")]


@router.get("/v1/reports/{report_id}", response_model=Report,
            **operation(operation_id="getSavedReport", summary="One saved report", scopes=[Scope.REPORTS_READ],
                        errors=[404], description="404 for a report you may not see (another user's private one)."))
async def get_report(report_id: ReportId, caller: CallerDep, services: BackendsDep) -> Report:
    return _report(await caller.call(services.reports.GetReport, pb.GetReportRequest(id=str(report_id))))


@router.patch("/v1/reports/{report_id}", response_model=Report,
              **operation(operation_id="updateSavedReport", summary="Change a saved report",
                          scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404, 412],
                          description="The fields present change. The owner may change a report; a shared one "
                                      "also anyone with `reports:manage` (else 403 `not_editable`)."))
async def update_report(report_id: ReportId, body: ReportPatch, caller: CallerDep,
                        services: BackendsDep) -> Report:
    mask = [name for name in ("name", "description", "definition", "visibility")
            if getattr(body, name) is not None]
    request = pb.UpdateReportRequest(
        id=str(report_id), update_mask=mask, name=body.name or "", description=body.description or "",
        definition_json=_definition_json(body.definition) if body.definition else "",
        visibility=body.visibility or "", team_id=body.team_id or "", expected_version=body.expected_version)
    return _report(await caller.call(services.reports.UpdateReport, request))


@router.delete("/v1/reports/{report_id}", response_model=Report,
               **operation(operation_id="deleteSavedReport", summary="Delete a saved report",
                           scopes=[Scope.REPORTS_READ], errors=[404],
                           description="Returns the report as it was. The owner, or `reports:manage` for a shared "
                                       "report (else 403 `not_editable`)."))
async def delete_report(report_id: ReportId, caller: CallerDep, services: BackendsDep) -> Report:
    reply = await caller.call(services.reports.DeleteReport, pb.DeleteReportRequest(id=str(report_id)))
    return _report(reply.report)


@router.post("/v1/reports/{report_id}:run", response_model=RunResult,
             **operation(operation_id="runSavedReport", summary="Run a saved report", scopes=[Scope.REPORTS_READ],
                         errors=[*WRITE_ERRORS, 404], description=RUN_DOC))
async def run_report(report_id: ReportId, caller: CallerDep, services: BackendsDep) -> RunResult:
    saved = await caller.call(services.reports.GetReport, pb.GetReportRequest(id=str(report_id)))
    stored = json.loads(saved.definition_json)
    return await _run(caller, services, report_id=str(report_id), view_id=str(stored.get("view_id") or ""),
                      segment_id=str(stored.get("segment_id") or ""))


@router.post("/v1/reports/{report_id}:clone", response_model=Report,
             **operation(operation_id="cloneSavedReport", summary="A private copy of a report you may see",
                         scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404], status_code=201))
async def clone_report(report_id: ReportId, body: CloneIn, caller: CallerDep, services: BackendsDep) -> Report:
    return _report(await caller.call(services.reports.CloneReport, pb.CloneReportRequest(
        source_id=str(report_id), name=body.name, locale=caller.locale)))


@router.get("/v1/report-templates", response_model=TemplateList,
            **operation(operation_id="listReportTemplates", summary="The quick report templates",
                        scopes=[Scope.REPORTS_READ],
                        description="Names in your language; run one with `POST /v1/reports:run` and its "
                                    "definition, or clone it."))
async def list_templates(caller: CallerDep, services: BackendsDep) -> TemplateList:
    reply = await caller.call(services.reports.ListReportTemplates, pb.ListReportTemplatesRequest(locale=caller.locale))
    return TemplateList(templates=[Template(key=t.key, name=t.name, description=t.description,
                                            definition=json.loads(t.definition_json)) for t in reply.templates])


@router.post("/v1/report-templates/{template_key}:clone", response_model=Report,
             **operation(operation_id="cloneReportTemplate", summary="Save a quick template as your own report",
                         scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404], status_code=201))
async def clone_template(template_key: Annotated[str, Path(max_length=60)], body: CloneIn, caller: CallerDep,
                         services: BackendsDep) -> Report:
    return _report(await caller.call(services.reports.CloneReport, pb.CloneReportRequest(
        template=template_key, name=body.name, locale=caller.locale)))
