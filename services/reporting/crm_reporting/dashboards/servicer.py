"""The dashboard RPCs of ReportingService: translation only (panels.py, funnel.py, layouts.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from crm_platform.access import require_readable_fields
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, HasEngine, rpc
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.audience import parse_object, parse_range
from crm_reporting.dashboards.funnel import sales_funnel
from crm_reporting.dashboards.layouts import Layout, layout_service
from crm_reporting.dashboards.panels import (
    PANELS,
    PanelRequest,
    check_panel_access,
    check_top_options,
    panel_named,
)
from crm_reporting.dashboards.segment_object import requested_segment
from crm_reporting.scope.service import report_scope


def _layout(layout: Layout) -> pb.Dashboard:
    return pb.Dashboard(
        items=[pb.DashboardItem(panel=i["panel"], options=i.get("options", {})) for i in layout.items],
        origin=layout.origin, version=layout.version,
    )


def _items(request: pb.PutDashboardRequest) -> list[tuple[str, dict[str, str]]]:
    return [(item.panel, dict(item.options)) for item in request.items]


class DashboardRpcs(HasEngine):
    analytics: Analytics

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ListDashboardPanels(
        self, request: pb.ListDashboardPanelsRequest, call: Call
    ) -> pb.ListDashboardPanelsResponse:
        panels = []
        for panel in PANELS.values():
            hidden = panel.hidden_fields(call.principal)
            panels.append(pb.PanelInfo(id=panel.id, chart=panel.chart, fields=panel.fields, available=not hidden,
                                       hidden_fields=hidden, uses_range=panel.uses_range))
        return pb.ListDashboardPanelsResponse(panels=panels)

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetDashboardPanel(self, request: pb.GetDashboardPanelRequest, call: Call) -> pb.DashboardPanel:
        panel = panel_named(request.panel)
        check_panel_access(panel, call.principal)
        today = datetime.now(UTC).date()
        span = parse_range(request.range, request.__getattribute__("from"), request.to, today)
        currency, limit = check_top_options(request.currency, request.limit)
        audience = parse_object(request.object, await report_scope(call.session, call.principal),
                                dict(request.view_filters), requested_segment(request))
        require_readable_fields(call.principal, *audience.readable_fields)
        result = await panel.compute(self.analytics, PanelRequest(
            call.principal.tenant_id, audience, span, today, call.principal, currency, limit))
        reply = pb.DashboardPanel(
            panel=panel.id, chart=panel.chart, object=audience.object, to=span.end.isoformat(),
            omitted_fields=result.omitted_fields,
            points=[pb.PanelPoint(key=p.key, label=p.label, currency=p.currency, value=p.value, count=p.count,
                                  filter=p.filter) for p in result.points],
        )
        setattr(reply, "from", span.start.isoformat())
        return reply

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetMyDashboard(self, request: pb.GetMyDashboardRequest, call: Call) -> pb.Dashboard:
        return _layout(await layout_service.mine(call.session, call.principal))

    @rpc(Scope.REPORTS_READ)
    async def PutMyDashboard(self, request: pb.PutDashboardRequest, call: Call) -> pb.Dashboard:
        return _layout(await layout_service.save_mine(call.session, call.principal, _items(request)))

    @rpc(Scope.REPORTS_READ, Scope.REPORTS_MANAGE)
    async def PutDefaultDashboard(self, request: pb.PutDashboardRequest, call: Call) -> pb.Dashboard:
        return _layout(await layout_service.publish_default(call.session, call.principal, _items(request)))

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetFunnel(self, request: pb.GetFunnelRequest, call: Call) -> pb.GetFunnelResponse:
        # The funnel groups by status: a role that may not see it may not count by it.
        require_readable_fields(call.principal, "status")
        start, end = request.__getattribute__("from"), request.to
        span = parse_range("custom" if start or end else "12m", start, end, datetime.now(UTC).date())
        audience = parse_object(request.object, await report_scope(call.session, call.principal),
                                dict(request.view_filters), requested_segment(request))
        require_readable_fields(call.principal, *audience.readable_fields)
        funnel = await sales_funnel(self.analytics, call.principal.tenant_id, audience, span)
        reply = pb.GetFunnelResponse(
            to=span.end.isoformat(), cohort=funnel.cohort, filter=funnel.filter,
            stages=[pb.FunnelStage(stage=s.stage, customers=s.customers,
                                   conversion_from_previous=s.conversion_from_previous,
                                   conversion_overall=s.conversion_overall,
                                   median_days_in_stage=s.median_days_in_stage) for s in funnel.stages],
        )
        setattr(reply, "from", span.start.isoformat())
        return reply
