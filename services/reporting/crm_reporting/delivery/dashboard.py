"""A dashboard as a share link or a subscription delivers it: the target's panels computed under an
access snapshot (never under a live token), with the same panel code as the home page
(dashboards/panels.py, funnel.py). Panels whose fields the snapshot hides are left out and named."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from crm_platform.access import field_policy
from crm_platform.errors import FieldError, InvalidInput
from crm_proto.crm.customers.v1 import segments_pb2
from crm_proto.crm.reporting.v1 import delivery_pb2
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb
from crm_reporting.analytics import Analytics
from crm_reporting.dashboards.audience import DateRange, parse_object, parse_range
from crm_reporting.dashboards.funnel import sales_funnel
from crm_reporting.dashboards.panels import PANELS, PanelRequest
from crm_reporting.dashboards.segment_object import requested_segment, segment_from_json, segment_json
from crm_reporting.delivery.access import AccessSnapshot
from crm_reporting.scope.service import EVERY_CUSTOMER

FUNNEL: Final = "funnel"
KINDS: Final = ("dashboard", "report")
MAX_PANELS: Final = 12
TOP_LIMIT: Final = 10


@dataclass(frozen=True)
class Target:
    kind: str = "dashboard"
    id: str = ""
    panels: tuple[str, ...] = ()
    object: str = "all"
    range: str = "12m"
    range_from: str = ""
    range_to: str = ""
    # A saved view's filters (object view:<id>, or the saved report's view_id) and a segment's
    # definition as JSON (object segment:<id>, or the saved report's segment_id), both read by the
    # gateway as the creator when the link or subscription was made.
    view_filters: dict[str, str] = field(default_factory=dict)
    segment: dict[str, Any] | None = None

    @property
    def segment_definition(self) -> segments_pb2.SegmentDefinition | None:
        return segment_from_json(self.segment)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "panels": list(self.panels), "object": self.object,
                "range": self.range, "range_from": self.range_from, "range_to": self.range_to,
                "view_filters": dict(self.view_filters), "segment_definition": self.segment}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Target:
        return cls(str(data.get("kind") or "dashboard"), str(data.get("id") or ""),
                   tuple(data.get("panels") or ()), str(data.get("object") or "all"),
                   str(data.get("range") or "12m"), str(data.get("range_from") or ""),
                   str(data.get("range_to") or ""), dict(data.get("view_filters") or {}),
                   data.get("segment_definition") if isinstance(data.get("segment_definition"), dict) else None)

    def as_pb(self) -> delivery_pb2.DeliveryTarget:
        return delivery_pb2.DeliveryTarget(kind=self.kind, id=self.id, panels=list(self.panels), object=self.object,
                                           range=self.range, range_from=self.range_from, range_to=self.range_to,
                                           view_filters=self.view_filters,
                                           segment_definition=self.segment_definition)


def check_target(message: Any, today: date) -> Target:
    """A `DeliveryTarget` from a request, checked: kind, panels from the catalogue (or the funnel),
    object and range as the dashboard takes them. Field names are prefixed `target.`."""
    kind = message.kind or "dashboard"
    errors: list[FieldError] = []
    if kind not in KINDS:
        raise InvalidInput([FieldError("target.kind", "invalid_choice", "dashboard or report")])
    if kind == "report":
        # A saved report: its own definition says what and over which time; whether the person may
        # read it is checked where a session is at hand (servicer.py).
        try:
            report_id = str(uuid.UUID(message.id))
        except ValueError:
            raise InvalidInput([FieldError("target.id", "required" if not message.id else "invalid_id",
                                           "the saved report's id")]) from None
        return Target("report", report_id, view_filters=dict(message.view_filters),
                      segment=segment_json(requested_segment(message)))
    panels = list(dict.fromkeys(message.panels))
    if not panels:
        errors.append(FieldError("target.panels", "required", "at least one panel"))
    if len(panels) > MAX_PANELS:
        errors.append(FieldError("target.panels", "too_many", f"at most {MAX_PANELS} panels"))
    for index, panel in enumerate(panels):
        if panel != FUNNEL and panel not in PANELS:
            errors.append(FieldError(f"target.panels[{index}]", "unknown_panel",
                                     f"one of {', '.join([*PANELS, FUNNEL])}"))
    if errors:
        raise InvalidInput(errors)
    object_ = message.object or "all"
    segment = segment_json(requested_segment(message)) if object_.startswith("segment:") else None
    target = Target(kind, "", tuple(panels), object_, message.range or "12m",
                    message.range_from, message.range_to, dict(message.view_filters), segment)
    try:
        parse_range(target.range, target.range_from, target.range_to, today, prefix="target.")
    except InvalidInput as exc:
        names = {"target.from": "target.range_from", "target.to": "target.range_to"}
        raise InvalidInput([FieldError(names.get(e.field, e.field), e.code, e.message) for e in exc.errors]) from None
    try:
        parse_object(target.object, EVERY_CUSTOMER, dict(target.view_filters), target.segment_definition)
    except InvalidInput as exc:
        raise InvalidInput([FieldError(f"target.{e.field}", e.code, e.message) for e in exc.errors]) from None
    return target


def _nonzero(value: str) -> bool:
    try:
        return Decimal(value or "0") != 0
    except InvalidOperation:
        return bool(value)


@dataclass
class ComputedDashboard:
    panels: list[pb.DashboardPanel]
    funnel: pb.GetFunnelResponse | None
    hidden: list[str]

    @property
    def empty(self) -> bool:
        """Nothing to report: every point is zero or absent."""
        counts = [p.count for panel in self.panels for p in panel.points]
        values = [p.value for panel in self.panels for p in panel.points if _nonzero(p.value)]
        cohort = self.funnel.cohort if self.funnel is not None else 0
        return not any(counts) and not values and not cohort


async def compute_dashboard(analytics: Analytics, tenant_id: uuid.UUID, target: Target, access: AccessSnapshot,
                            today: date, subject: str) -> ComputedDashboard:
    principal = access.principal(tenant_id, subject)
    span: DateRange = parse_range(target.range, target.range_from, target.range_to, today)
    audience = parse_object(target.object, access.scope, dict(target.view_filters), target.segment_definition)
    computed = ComputedDashboard([], None, [])
    if any(field_policy(principal, f) in ("hidden", "masked") for f in audience.readable_fields):
        # A segment judged by spend, for someone who may not see spend: nothing is counted.
        computed.hidden = list(target.panels)
        return computed
    for key in target.panels:
        if key == FUNNEL:
            if principal.field_policies.get("status") in ("hidden", "masked"):
                computed.hidden.append(key)
                continue
            funnel = await sales_funnel(analytics, tenant_id, audience, span)
            reply = pb.GetFunnelResponse(
                to=span.end.isoformat(), cohort=funnel.cohort, filter=funnel.filter,
                stages=[pb.FunnelStage(stage=s.stage, customers=s.customers,
                                       conversion_from_previous=s.conversion_from_previous,
                                       conversion_overall=s.conversion_overall,
                                       median_days_in_stage=s.median_days_in_stage) for s in funnel.stages])
            setattr(reply, "from", span.start.isoformat())
            computed.funnel = reply
            continue
        panel = PANELS[key]
        if panel.hidden_fields(principal):
            computed.hidden.append(key)
            continue
        result = await panel.compute(analytics, PanelRequest(tenant_id, audience, span, today, principal,
                                                             "CNY", TOP_LIMIT))
        reply_panel = pb.DashboardPanel(
            panel=panel.id, chart=panel.chart, object=audience.object, to=span.end.isoformat(),
            omitted_fields=result.omitted_fields,
            points=[pb.PanelPoint(key=p.key, label=p.label, currency=p.currency, value=p.value, count=p.count,
                                  filter=p.filter) for p in result.points])
        setattr(reply_panel, "from", span.start.isoformat())
        computed.panels.append(reply_panel)
    return computed
