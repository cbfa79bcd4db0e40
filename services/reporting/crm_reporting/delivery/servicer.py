"""ReportDeliveryService: share links and subscriptions (translation only: share_links.py,
subscriptions.py, dashboard.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.auth import Scope
from crm_platform.db import tenant_read_session
from crm_platform.errors import PermissionDenied
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.reporting.v1 import delivery_pb2 as pb
from crm_proto.crm.reporting.v1 import delivery_pb2_grpc
from crm_reporting.analytics import Analytics
from crm_reporting.delivery import report_target, share_links, subscriptions
from crm_reporting.delivery.access import snapshot_of
from crm_reporting.delivery.dashboard import Target, check_target, compute_dashboard


def rfc3339(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else ""


def link_message(row: Any, now: datetime, names: dict[str, str] | None = None) -> pb.ShareLink:
    snapshot = share_links.snapshot(row)
    return pb.ShareLink(
        id=str(row.id), target=Target.from_json(row.target).as_pb(), title=row.title,
        created_by=str(row.created_by), created_by_name=(names or {}).get(str(row.created_by), ""),
        created_at=rfc3339(row.created_at), expires_at=rfc3339(row.expires_at),
        revoked_at=rfc3339(row.revoked_at) if row.revoked_at else "",
        password_protected=bool(row.password_hash), state=share_links.link_state(row, now),
        views=int(row.views), last_viewed_at=rfc3339(row.last_viewed_at) if row.last_viewed_at else "",
        data_scope=snapshot.data_scope, personal_fields_masked=bool(row.personal_masked),
    )


def subscription_message(row: Any, people: list[Any], next_at: datetime | None) -> pb.ReportSubscription:
    return pb.ReportSubscription(
        id=str(row.id), target=Target.from_json(row.target).as_pb(), title=row.title, frequency=row.frequency,
        weekday=row.weekday, day_of_month=row.day_of_month, time_of_day=row.time_of_day, time_zone=row.time_zone,
        format=row.format, created_by=str(row.created_by), created_at=rfc3339(row.created_at),
        next_run_at=rfc3339(next_at), rrule=row.rrule,
        recipients=[pb.SubscriptionRecipient(user_id=str(p.user_id), email=p.email or "",
                                             display_name=p.display_name or "", locale=p.locale or "",
                                             unsubscribed=p.unsubscribed_at is not None) for p in people],
    )


class DeliveryServicer(delivery_pb2_grpc.ReportDeliveryServiceServicer):
    def __init__(self, engine: AsyncEngine, analytics: Analytics, runtime: Any = None, link_key: bytes = b""):
        self.engine = engine
        self.analytics = analytics
        self.runtime = runtime
        self.link_key = link_key

    async def _subscription(self, call: Call, row: Any) -> pb.ReportSubscription:
        people = await subscriptions.recipients(call.session, row.id)
        return subscription_message(row, people, await subscriptions.next_run(call.session, call.principal.tenant_id,
                                                                              row.id))

    @rpc(Scope.REPORTS_READ)
    async def CreateReportSubscription(self, request: pb.CreateReportSubscriptionRequest,
                                       call: Call) -> pb.ReportSubscription:
        target = check_target(request.target, share_links.today())
        if target.kind == "report" and call.principal.user_id is not None:
            name = await report_target.check_readable(call.session, await snapshot_of(call.session, call.principal),
                                                      call.principal.tenant_id, target)
            request.title = request.title or name
        definition = await subscriptions.check_definition(call.session, request, target.kind)
        row = await subscriptions.create(call.session, call.principal, target, definition)
        return await self._subscription(call, row)

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ListReportSubscriptions(self, request: pb.ListReportSubscriptionsRequest,
                                      call: Call) -> pb.ListReportSubscriptionsResponse:
        rows = await subscriptions.list_subscriptions(call.session, call.principal, request.target_kind,
                                                      request.target_id)
        return pb.ListReportSubscriptionsResponse(items=[await self._subscription(call, r) for r in rows])

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetReportSubscription(self, request: pb.ReportSubscriptionIdRequest,
                                    call: Call) -> pb.ReportSubscription:
        return await self._subscription(call, await subscriptions.get(call.session, call.principal, request.id))

    @rpc(Scope.REPORTS_READ)
    async def DeleteReportSubscription(self, request: pb.ReportSubscriptionIdRequest,
                                       call: Call) -> pb.ReportSubscription:
        row = await subscriptions.get(call.session, call.principal, request.id)
        reply = await self._subscription(call, row)
        await subscriptions.delete(call.session, call.principal, request.id)
        reply.next_run_at = ""
        return reply

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ListSubscriptionDeliveries(self, request: pb.ListSubscriptionDeliveriesRequest,
                                         call: Call) -> pb.ListSubscriptionDeliveriesResponse:
        row = await subscriptions.get(call.session, call.principal, request.subscription_id)
        limit = request.limit if 0 < request.limit <= 500 else 100
        items = await subscriptions.deliveries(call.session, row.id, limit)
        return pb.ListSubscriptionDeliveriesResponse(items=[pb.SubscriptionDelivery(
            id=str(i["id"]), subscription_id=str(i["subscription_id"]), recipient_id=str(i["recipient_id"]),
            occurrence_at=rfc3339(i["occurrence_at"]), status=i["status"], reason=i["reason"] or "",
            created_at=rfc3339(i["created_at"]), sent_at=rfc3339(i["sent_at"]), attempts=i["attempts"],
        ) for i in items])

    async def Unsubscribe(self, request: pb.UnsubscribeRequest, context: Any) -> pb.UnsubscribeResponse:
        """Public: the signed token from a delivered mail."""
        state, title = await subscriptions.unsubscribe(self.engine, self.link_key, request.token)
        return pb.UnsubscribeResponse(state=state, title=title)

    @rpc(Scope.REPORTS_READ)
    async def CreateShareLink(self, request: pb.CreateShareLinkRequest, call: Call) -> pb.CreatedShareLink:
        target = check_target(request.target, share_links.today())
        if target.kind == "report" and call.principal.user_id is not None:
            name = await report_target.check_readable(call.session, await snapshot_of(call.session, call.principal),
                                                      call.principal.tenant_id, target)
            request.title = request.title or name
        row, token = await share_links.create(call.session, call.principal, target, request.title,
                                              request.expires_in_days, request.password)
        return pb.CreatedShareLink(link=link_message(row, row.created_at), token=token)

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def ListShareLinks(self, request: pb.ListShareLinksRequest, call: Call) -> pb.ListShareLinksResponse:
        rows = await share_links.list_links(call.session, call.principal, request.state)
        now = datetime.now(UTC)
        return pb.ListShareLinksResponse(items=[link_message(r, now) for r in rows])

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetShareLink(self, request: pb.ShareLinkIdRequest, call: Call) -> pb.ShareLink:
        row = await share_links.get(call.session, call.principal, request.id)
        return link_message(row, datetime.now(UTC))

    @rpc(Scope.REPORTS_READ)
    async def RevokeShareLink(self, request: pb.ShareLinkIdRequest, call: Call) -> pb.ShareLink:
        row = await share_links.revoke(call.session, call.principal, request.id)
        return link_message(row, datetime.now(UTC))

    @rpc(Scope.REPORTS_READ, read_only=True)
    async def GetShareSettings(self, request: pb.GetShareSettingsRequest, call: Call) -> pb.ShareSettings:
        allow, version = await share_links.allow_personal_fields(call.session)
        return pb.ShareSettings(allow_personal_fields=allow, version=version)

    @rpc(Scope.REPORTS_READ, Scope.REPORTS_MANAGE)
    async def UpdateShareSettings(self, request: pb.ShareSettings, call: Call) -> pb.ShareSettings:
        allow, version = await share_links.save_settings(call.session, call.principal, request.allow_personal_fields)
        return pb.ShareSettings(allow_personal_fields=allow, version=version)

    async def OpenShareLink(self, request: pb.OpenShareLinkRequest, context: Any) -> pb.SharedContent:
        """Public: the gateway's /s/<token> page. A suspended tenant's links answer not_found."""
        found = await share_links.tenant_of(self.engine, request.token)
        if found is None:
            return pb.SharedContent(state="not_found")
        tenant_id, _ = found
        gate = getattr(self.runtime, "tenant_gate", None)
        if gate is not None and gate.refusal(tenant_id) is not None:
            return pb.SharedContent(state="not_found")
        opened = await share_links.open_token(self.engine, request.token, request.password)
        if opened.link is None or opened.tenant_id is None:
            return pb.SharedContent(state=opened.state)
        now = datetime.now(UTC)
        link = link_message(opened.link, now)
        if opened.state != "ok":
            # Only what the page needs to say why: no target, no figures.
            return pb.SharedContent(state=opened.state, link=pb.ShareLink(
                title=link.title if opened.state.startswith("password") else "", state=link.state,
                password_protected=link.password_protected))
        target = Target.from_json(opened.link.target)
        if target.kind == "report":
            try:
                async with tenant_read_session(self.engine, opened.tenant_id) as session:
                    result = await report_target.run_report(
                        self.analytics, session, opened.tenant_id, share_links.snapshot(opened.link), target,
                        request.locale or "zh-CN", request.time_zone or "Asia/Shanghai", frozen=True)
            except PermissionDenied:  # it groups by a field the link masks (customer names)
                return pb.SharedContent(state="ok", link=link, hidden_panels=["report"])
            if result is None:  # deleted, or no longer readable by the sharer
                return pb.SharedContent(state="not_found")
            return pb.SharedContent(state="ok", link=link, report_json=report_target.as_json(result))
        computed = await compute_dashboard(self.analytics, opened.tenant_id, target,
                                           share_links.snapshot(opened.link), share_links.today(),
                                           f"share-link:{opened.link.id}")
        return pb.SharedContent(state="ok", link=link, panels=computed.panels, funnel=computed.funnel,
                                has_funnel=computed.funnel is not None, hidden_panels=computed.hidden)
