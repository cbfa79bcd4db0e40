"""/v1/dashboards/*: the home dashboard's panels and the caller's layout (reporting,
docs/reporting.md "Dashboards")."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from crm_gateway.api.common import BackendsDep, Caller, CallerDep, operation
from crm_gateway.clients import Backends
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import segments_pb2, views_pb2
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb

router = APIRouter(prefix="/v1/dashboards", tags=["dashboards"])

OBJECT_DOC = ("`all` (default), `tag:<tag id>`, `view:<saved view id>` (the view's filters, read as you) or "
              "`segment:<segment id>` (a saved segment you may read: its tags, filters and value parts)")
RANGE_DOC = "`3m`, `12m` (default), `ytd`, or `custom` with `from` and `to`"


class PanelInfo(BaseModel):
    id: str
    chart: Literal["kpi", "pie", "bar", "line", "table"]
    fields: list[str] = Field(description="Customer fields the panel reads")
    available: bool = Field(description="False when your field policies hide a field the panel needs")
    hidden_fields: list[str]
    uses_range: bool = Field(description="The panel counts within the time range (else as of now)")


class PanelCatalogue(BaseModel):
    panels: list[PanelInfo]


class PanelPoint(BaseModel):
    key: str = Field(description="KPI name, industry, top-level region, quarter start (YYYY-MM-DD), source code "
                                 "or customer id")
    label: str = Field(description="Display name when the key is an id (top customers)")
    currency: str = Field(description="ISO 4217 for money points, else empty")
    value: str = Field(description="Decimal string: an amount, or a rate 0..1 with 4 places; empty for counts")
    count: int
    filter: dict[str, str] = Field(description="`GET /v1/customers` query parameters listing exactly these "
                                               "customers; empty when no list filter expresses them")
    customers_query: str = Field(description="`filter` as a query string ('' when empty)")


class DashboardPanel(BaseModel):
    panel: str
    chart: str
    object: str
    from_: str = Field(alias="from", description="YYYY-MM-DD, inclusive")
    to: str = Field(description="YYYY-MM-DD, inclusive")
    points: list[PanelPoint]
    omitted_fields: list[str] = Field(description="Figures left out under your field policies (KPIs: "
                                                  "`annual_spend` drops the spend cards)")

    model_config = {"populate_by_name": True}


class DashboardItem(BaseModel):
    panel: str = Field(max_length=40)
    options: dict[str, str] = Field(default_factory=dict, description="The page's settings for the panel "
                                    "(object, range, from, to, currency, limit, size...): snake_case keys, "
                                    "values up to 200 characters")


class Dashboard(BaseModel):
    items: list[DashboardItem]
    origin: Literal["user", "tenant", "builtin"]
    version: int


class DashboardInput(BaseModel):
    items: list[DashboardItem] = Field(max_length=30)


async def view_filters(caller: Caller, services: Backends, object_: str) -> dict[str, str]:
    """A saved view's filters, read with the caller's token (their view, or 404)."""
    if not object_.startswith("view:"):
        return {}
    view_id = object_.removeprefix("view:")
    reply = await caller.call(services.customer_views.GetCustomerView, views_pb2.GetCustomerViewRequest(id=view_id))
    return dict(reply.filters)


async def segment_definition(caller: Caller, services: Backends, object_: str) -> segments_pb2.SegmentDefinition | None:
    """A saved segment's definition, read with the caller's token (theirs or a shared one, else 404),
    for the object `segment:<id>`; None for any other object (or an id reporting refuses)."""
    kind, _, segment_id = object_.partition(":")
    return await saved_segment(caller, services, segment_id) if kind == "segment" else None


async def saved_segment(caller: Caller, services: Backends, segment_id: str) -> segments_pb2.SegmentDefinition | None:
    try:
        uuid.UUID(segment_id)
    except ValueError:
        return None  # reporting answers 400 invalid_id on the field
    reply = await caller.call(services.segments.GetSegment, segments_pb2.GetSegmentRequest(id=segment_id))
    return reply.definition


async def viewer_segments(caller: Caller, services: Backends) -> list[segments_pb2.Segment]:
    """The segments the caller may read (theirs and the shared ones): the pages' object pickers."""
    return list((await caller.call(services.segments.ListSegments, segments_pb2.ListSegmentsRequest())).items)


def points(reply_points: list[pb.PanelPoint]) -> list[PanelPoint]:
    return [PanelPoint(key=p.key, label=p.label, currency=p.currency, value=p.value, count=p.count,
                       filter=dict(sorted(p.filter.items())), customers_query=urlencode(sorted(p.filter.items())))
            for p in reply_points]


@router.get(
    "/panels",
    response_model=PanelCatalogue,
    **operation(operation_id="listDashboardPanels", summary="The dashboard panel catalogue",
                scopes=[Scope.REPORTS_READ]),
)
async def list_panels(caller: CallerDep, services: BackendsDep) -> PanelCatalogue:
    reply = await caller.call(services.reporting.ListDashboardPanels, pb.ListDashboardPanelsRequest())
    return PanelCatalogue(panels=[
        PanelInfo(id=p.id, chart=p.chart, fields=list(p.fields), available=p.available,
                  hidden_fields=list(p.hidden_fields), uses_range=p.uses_range)
        for p in reply.panels
    ])


@router.get(
    "/panels/{panel}",
    response_model=DashboardPanel,
    response_model_by_alias=True,
    **operation(operation_id="getDashboardPanel", summary="One dashboard panel's figures",
                scopes=[Scope.REPORTS_READ], errors=[404],
                description="Every figure counts only the customers in your data scope (deleted customers never); "
                            "403 `field_hidden` (with `fields`) when your field policies hide a field the panel "
                            "needs. Each point's `filter` opens exactly its customers in `GET /v1/customers`."),
)
async def get_panel(
    caller: CallerDep, services: BackendsDep,
    panel: Annotated[str, Path(max_length=40, description="A panel id from the catalogue")],
    object_: Annotated[str, Query(alias="object", max_length=60, description=OBJECT_DOC)] = "all",
    range_: Annotated[str, Query(alias="range", max_length=10, description=RANGE_DOC)] = "",
    from_: Annotated[str, Query(alias="from", max_length=10, description="YYYY-MM-DD (range=custom)")] = "",
    to: Annotated[str, Query(max_length=10, description="YYYY-MM-DD, inclusive (range=custom)")] = "",
    currency: Annotated[str, Query(max_length=3, description="top_customers: ISO 4217, default CNY")] = "",
    limit: Annotated[int, Query(ge=1, le=50, description="top_customers: how many (default 10)")] = 10,
) -> DashboardPanel:
    request = pb.GetDashboardPanelRequest(panel=panel, object=object_, range=range_, to=to, currency=currency,
                                          limit=limit, view_filters=await view_filters(caller, services, object_),
                                          segment_definition=await segment_definition(caller, services, object_))
    setattr(request, "from", from_)
    reply = await caller.call(services.reporting.GetDashboardPanel, request)
    return DashboardPanel.model_validate({
        "panel": reply.panel, "chart": reply.chart, "object": reply.object, "from": getattr(reply, "from"),
        "to": reply.to, "points": points(list(reply.points)), "omitted_fields": list(reply.omitted_fields),
    })


def _dashboard(reply: pb.Dashboard) -> Dashboard:
    return Dashboard(items=[DashboardItem(panel=i.panel, options=dict(i.options)) for i in reply.items],
                     origin=reply.origin, version=reply.version)  # type: ignore[arg-type]


def _put_request(body: DashboardInput) -> pb.PutDashboardRequest:
    return pb.PutDashboardRequest(items=[pb.DashboardItem(panel=i.panel, options=i.options) for i in body.items])


@router.get(
    "/me",
    response_model=Dashboard,
    **operation(operation_id="getMyDashboard", summary="Your dashboard layout", scopes=[Scope.REPORTS_READ],
                description="Your own layout, else the tenant default an admin published, else the built-in one "
                            "(`origin` says which)."),
)
async def get_my_dashboard(caller: CallerDep, services: BackendsDep) -> Dashboard:
    return _dashboard(await caller.call(services.reporting.GetMyDashboard, pb.GetMyDashboardRequest()))


@router.put(
    "/me",
    response_model=Dashboard,
    **operation(operation_id="putMyDashboard", summary="Save your dashboard layout", scopes=[Scope.REPORTS_READ],
                description="The panels in display order with their options; a panel may appear more than once. "
                            "Unknown panels are 400 `unknown_panel` on `items[i].panel`. Needs a user token."),
)
async def put_my_dashboard(body: DashboardInput, caller: CallerDep, services: BackendsDep) -> Dashboard:
    return _dashboard(await caller.call(services.reporting.PutMyDashboard, _put_request(body)))


@router.put(
    "/default",
    response_model=Dashboard,
    **operation(operation_id="putDefaultDashboard", summary="Publish the tenant's default dashboard",
                scopes=[Scope.REPORTS_READ, Scope.REPORTS_MANAGE],
                description="What every user without a layout of their own sees."),
)
async def put_default_dashboard(body: DashboardInput, caller: CallerDep, services: BackendsDep) -> Dashboard:
    return _dashboard(await caller.call(services.reporting.PutDefaultDashboard, _put_request(body)))
