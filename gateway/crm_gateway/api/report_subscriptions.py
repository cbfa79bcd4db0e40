"""/v1/report-subscriptions: a dashboard mailed on a schedule to users of the tenant, each copy
computed under its recipient's own permissions (reporting's ReportDeliveryService; docs/reporting.md,
"Subscriptions"). The public unsubscribe page is web/share.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from crm_gateway.api.common import WRITE_ERRORS, BackendsDep, CallerDep, RequestBody, operation
from crm_gateway.api.dashboards import view_filters
from crm_gateway.api.share_links import ShareTarget, TargetOut
from crm_gateway.clients import Backends, Caller
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import identity_pb2
from crm_proto.crm.reporting.v1 import delivery_pb2 as pb

router = APIRouter(tags=["report-subscriptions"])


class SubscriptionCreate(RequestBody):
    target: ShareTarget
    title: str = Field("", max_length=200)
    frequency: Literal["daily", "weekly", "monthly"]
    weekday: int = Field(0, ge=0, le=7, description="weekly: 1 (Monday) .. 7 (Sunday); default Monday")
    day_of_month: int = Field(0, ge=0, le=28, description="monthly: 1..28; default the 1st")
    time_of_day: str = Field("09:00", max_length=5, description="HH:MM in the tenant's time zone")
    format: Literal["xlsx", "pdf"] = Field(
        "xlsx", description="The attachment: the dashboard's panels or the report as an Excel workbook or a PDF")
    recipient_ids: list[Annotated[str, Field(max_length=40)]] = Field(max_length=50,
                                                                       description="Users of the tenant")


class Recipient(BaseModel):
    user_id: str
    email: str
    display_name: str
    locale: str
    unsubscribed: bool


class Subscription(BaseModel):
    id: str
    target: TargetOut
    title: str
    frequency: str
    weekday: int
    day_of_month: int
    time_of_day: str
    time_zone: str = Field(description="The tenant's zone when the subscription was made")
    format: str
    recipients: list[Recipient]
    created_by: str
    created_at: str
    next_run_at: str = Field(description="The next delivery, RFC 3339 UTC")
    rrule: str = Field(description="The RFC 5545 rule the platform scheduler runs")


class SubscriptionList(BaseModel):
    items: list[Subscription]


class Delivery(BaseModel):
    id: str
    recipient_id: str
    occurrence_at: str
    status: Literal["queued", "retrying", "sent", "skipped", "failed"]
    reason: str = Field(description="skipped: empty, no_access, disabled, unsubscribed, no_email; "
                                    "failed/retrying: the mail server's answer")
    created_at: str
    sent_at: str
    attempts: int


class DeliveryList(BaseModel):
    items: list[Delivery]


def subscription_out(s: pb.ReportSubscription) -> Subscription:
    t = s.target
    return Subscription.model_validate({
        "id": s.id, "title": s.title, "frequency": s.frequency, "weekday": s.weekday, "day_of_month": s.day_of_month,
        "time_of_day": s.time_of_day, "time_zone": s.time_zone, "format": s.format, "created_by": s.created_by,
        "created_at": s.created_at, "next_run_at": s.next_run_at, "rrule": s.rrule,
        "target": {"kind": t.kind, "id": t.id, "panels": list(t.panels), "object": t.object, "range": t.range,
                   "range_from": t.range_from, "range_to": t.range_to},
        "recipients": [{"user_id": r.user_id, "email": r.email, "display_name": r.display_name, "locale": r.locale,
                        "unsubscribed": r.unsubscribed} for r in s.recipients],
    })


async def tenant_zone(caller: Caller, services: Backends) -> str:
    tenant = await caller.call(services.identity.GetTenant, identity_pb2.GetTenantRequest())
    return str(tenant.time_zone or "Asia/Shanghai")


async def create_subscription(body: SubscriptionCreate, caller: Caller, services: Backends) -> pb.ReportSubscription:
    target = body.target
    filters = await view_filters(caller, services, target.object)
    return await caller.call(services.delivery.CreateReportSubscription, pb.CreateReportSubscriptionRequest(
        target=pb.DeliveryTarget(kind=target.kind, id=target.id, panels=target.panels, object=target.object,
                                 range=target.range, range_from=target.range_from, range_to=target.range_to,
                                 view_filters=filters),
        title=body.title, frequency=body.frequency, weekday=body.weekday, day_of_month=body.day_of_month,
        time_of_day=body.time_of_day, time_zone=await tenant_zone(caller, services), format=body.format,
        recipient_ids=body.recipient_ids))


@router.post(
    "/v1/report-subscriptions",
    response_model=Subscription,
    **operation(operation_id="createReportSubscription", summary="Mail a dashboard on a schedule",
                scopes=[Scope.REPORTS_READ], errors=[*WRITE_ERRORS, 404], status_code=201,
                description="404 when `target` names a saved report you cannot read. "
                            "Daily, weekly (`weekday`) or monthly (`day_of_month`) at `time_of_day` in the tenant's "
                            "time zone, to users of the tenant. Each recipient's copy is computed under their own "
                            "data scope and field policies; a copy with nothing to report is skipped. 400 on "
                            "`recipient_ids[i]` (`unknown_user`), `time_of_day` (`invalid_time`), `format` "
                            "(`invalid_choice`), `target.panels`."),
)
async def create_report_subscription(body: SubscriptionCreate, response: Response, caller: CallerDep,
                                     services: BackendsDep) -> Subscription:
    reply = await create_subscription(body, caller, services)
    response.headers["Location"] = f"/v1/report-subscriptions/{reply.id}"
    return subscription_out(reply)


@router.get(
    "/v1/report-subscriptions",
    response_model=SubscriptionList,
    **operation(operation_id="listReportSubscriptions", summary="Your subscriptions (all with reports:manage)",
                scopes=[Scope.REPORTS_READ]),
)
async def list_report_subscriptions(
    caller: CallerDep, services: BackendsDep,
    target_kind: Annotated[Literal["", "dashboard", "report"], Query()] = "",
    target_id: Annotated[str, Query(max_length=40)] = "",
) -> SubscriptionList:
    reply = await caller.call(services.delivery.ListReportSubscriptions, pb.ListReportSubscriptionsRequest(
        target_kind=target_kind, target_id=target_id))
    return SubscriptionList(items=[subscription_out(s) for s in reply.items])


@router.get(
    "/v1/report-subscriptions/{subscription_id}",
    response_model=Subscription,
    **operation(operation_id="getReportSubscription", summary="One subscription", scopes=[Scope.REPORTS_READ],
                errors=[404]),
)
async def get_report_subscription(subscription_id: Annotated[str, Path(max_length=40)], caller: CallerDep,
                                  services: BackendsDep) -> Subscription:
    reply = await caller.call(services.delivery.GetReportSubscription,
                              pb.ReportSubscriptionIdRequest(id=subscription_id))
    return subscription_out(reply)


@router.delete(
    "/v1/report-subscriptions/{subscription_id}",
    response_model=Subscription,
    **operation(operation_id="deleteReportSubscription", summary="Stop a subscription", scopes=[Scope.REPORTS_READ],
                errors=[404], description="Yours, or any with reports:manage; its schedule is cancelled."),
)
async def delete_report_subscription(subscription_id: Annotated[str, Path(max_length=40)], caller: CallerDep,
                                     services: BackendsDep) -> Subscription:
    reply = await caller.call(services.delivery.DeleteReportSubscription,
                              pb.ReportSubscriptionIdRequest(id=subscription_id))
    return subscription_out(reply)


@router.get(
    "/v1/report-subscriptions/{subscription_id}/deliveries",
    response_model=DeliveryList,
    **operation(operation_id="listSubscriptionDeliveries", summary="A subscription's delivery log",
                scopes=[Scope.REPORTS_READ], errors=[404],
                description="Per occurrence and recipient, newest first: queued, retrying (the mail server failed; "
                            "the mailer tries again), sent, skipped (with why) or failed."),
)
async def list_subscription_deliveries(
    subscription_id: Annotated[str, Path(max_length=40)], caller: CallerDep, services: BackendsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    reply = await caller.call(services.delivery.ListSubscriptionDeliveries, pb.ListSubscriptionDeliveriesRequest(
        subscription_id=subscription_id, limit=limit))
    return DeliveryList.model_validate({"items": [{
        "id": d.id, "recipient_id": d.recipient_id, "occurrence_at": d.occurrence_at, "status": d.status,
        "reason": d.reason, "created_at": d.created_at, "sent_at": d.sent_at, "attempts": d.attempts,
    } for d in reply.items]})
