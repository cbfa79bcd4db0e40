"""/app/dashboard/share: share the dashboard as it is shown (a read-only link: /s/<token>) and mail it
on a schedule (subscriptions), with the lists to revoke links, stop subscriptions and read their
delivery log (reporting's ReportDeliveryService; docs/reporting.md "Share links", "Subscriptions").
The link and the subscription take the viewer's current panels (their layout plus the funnel),
customers (all / tag / saved view) and time range from the dashboard's query string."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.dashboards import view_filters
from crm_gateway.api.report_subscriptions import tenant_zone
from crm_gateway.i18n import N_, messages
from crm_gateway.problems import UpstreamError, localise_field_errors
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import (
    SessionDep,
    csrf_ok,
    flash_message,
    flash_text,
    problem_text,
    raise_if_signed_out,
)
from crm_gateway.web.dashboard import RANGE_LABELS, Window, _subject, my_layout
from crm_gateway.web.owners import owner_choices
from crm_gateway.web.session import WebCookies
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.reporting.v1 import delivery_pb2 as pb

router = APIRouter(prefix="/app/dashboard", include_in_schema=False)

WEEKDAYS: Final = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                   N_("Sunday"))
FREQUENCIES: Final = {"daily": N_("Every day"), "weekly": N_("Every week"), "monthly": N_("Every month")}
STATUSES: Final = {"queued": N_("Queued"), "retrying": N_("Retrying"), "sent": N_("Sent"), "skipped": N_("Skipped"),
                   "failed": N_("Failed")}
REASONS: Final = {"empty": N_("nothing to report"), "no_access": N_("no access to reports"),
                  "disabled": N_("user disabled"), "unsubscribed": N_("unsubscribed"),
                  "no_email": N_("no email address")}
LINK_STATES: Final = {"active": N_("Active"), "expired": N_("Expired"), "revoked": N_("Revoked")}


def _params(request: Request) -> dict[str, str]:
    """The dashboard's choices, carried through this page's forms."""
    return {k: request.query_params.get(k, "") for k in ("object", "range", "from", "to", "report")
            if request.query_params.get(k)}


async def _target(request: Request, caller: Any, services: Any, params: dict[str, str]) -> pb.DeliveryTarget:
    if params.get("report"):  # a saved report (the report builder's "Share and subscribe")
        return pb.DeliveryTarget(kind="report", id=params["report"][:40])
    layout, _ = await my_layout(caller, services)
    window, _ = Window.parse(params.get("range", "12m"), params.get("from", ""), params.get("to", ""))
    object_ = params.get("object", "all") or "all"
    filters = await view_filters(caller, services, object_)
    return pb.DeliveryTarget(kind="dashboard", panels=[*dict.fromkeys(layout), "funnel"], object=object_,
                             range=window.key, range_from=window.start.isoformat() if window.start else "",
                             range_to=window.end.isoformat() if window.end else "", view_filters=filters)


async def _page(request: Request, session: Any, services: Any, *, created: Any = None,
                errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                status_code: int = 200) -> Response:
    locale = page_locale(request)
    t = messages(locale)
    caller = session_caller(request, session)
    params = _params(request)
    cookies: WebCookies = request.app.state.web_cookies
    try:
        links, subs, people, (subject, _, _, _) = await asyncio.gather(
            caller.call(services.delivery.ListShareLinks, pb.ListShareLinksRequest()),
            caller.call(services.delivery.ListReportSubscriptions, pb.ListReportSubscriptionsRequest(
                target_kind="report" if params.get("report") else "dashboard", target_id=params.get("report", ""))),
            owner_choices(caller, services), _subject(caller, services, params.get("object", "all")))
        logs = await asyncio.gather(*(caller.call(services.delivery.ListSubscriptionDeliveries,
                                                  pb.ListSubscriptionDeliveriesRequest(subscription_id=s.id, limit=10))
                                      for s in subs.items))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        raise
    names = dict(people)
    window, _ = Window.parse(params.get("range", "12m"), params.get("from", ""), params.get("to", ""))
    response = render(request, "dashboard_share.html", {
        "session": session, "links": links.items, "subscriptions": list(zip(subs.items, logs, strict=True)),
        "people": people, "names": names, "created": created, "errors": errors or {}, "form": form or {},
        "query": urlencode(params), "subject": subject, "report_id": params.get("report", ""),
        "span": t.text(RANGE_LABELS[window.key]) if window.key != "custom" else t.gettext(
            "%(start)s to %(end)s", start=window.start, end=window.end),
        "weekdays": [t.text(w) for w in WEEKDAYS], "frequencies": {k: t.text(v) for k, v in FREQUENCIES.items()},
        "statuses": {k: t.text(v) for k, v in STATUSES.items()}, "reasons": {k: t.text(v) for k, v in REASONS.items()},
        "link_states": {k: t.text(v) for k, v in LINK_STATES.items()},
        "flash": flash_text(cookies.read_flash(request), locale),
        "public_url": request.app.state.settings.public_url,
    }, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


@router.get("/share")
async def share_page(request: Request, session: SessionDep, services: BackendsDep,
                     object_: Annotated[str, Query(alias="object")] = "all") -> Response:
    return await _page(request, session, services)


def _back(request: Request) -> str:
    query = urlencode(_params(request))
    return "/app/dashboard/share" + (f"?{query}" if query else "")


@router.post("/share/links")
async def create_link(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    if not csrf_ok(form, session):
        return RedirectResponse(_back(request), status_code=303)
    caller = session_caller(request, session)
    values = {k: str(form.get(k) or "") for k in ("title", "expires_in_days", "password")}
    try:
        days = int(values["expires_in_days"] or 7)
    except ValueError:
        days = 0
    try:
        target = await _target(request, caller, services, _params(request))
        reply = await caller.call(services.delivery.CreateShareLink, pb.CreateShareLinkRequest(
            target=target, title=values["title"], expires_in_days=days, password=values["password"]))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        locale = page_locale(request)
        errors = {e["field"]: e["message"] for e in localise_field_errors(exc.error.errors, locale)} or {
            "": problem_text(exc, locale)}
        return await _page(request, session, services, errors=errors, form=values, status_code=400)
    # The URL is shown once, here (only its hash is kept).
    return await _page(request, session, services, created=reply)


@router.post("/share/links/{link_id}/revoke")
async def revoke_link(request: Request, link_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    response = RedirectResponse(_back(request), status_code=303)
    if not csrf_ok(form, session):
        return response
    cookies: WebCookies = request.app.state.web_cookies
    try:
        await session_caller(request, session).call(services.delivery.RevokeShareLink,
                                                    pb.ShareLinkIdRequest(id=link_id))
        cookies.flash(response, flash_message(N_("The link was revoked: it no longer opens.")))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, flash_message(N_("The change was not saved: %(reason)s"),
                                              reason=problem_text(exc, page_locale(request))))
    return response


@router.post("/share/subscriptions")
async def create_subscription(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    if not csrf_ok(form, session):
        return RedirectResponse(_back(request), status_code=303)
    caller = session_caller(request, session)
    values = {k: str(form.get(k) or "") for k in ("title", "frequency", "weekday", "day_of_month", "time_of_day",
                                                  "format")}
    recipients = [str(v) for v in form.getlist("recipient_ids")]
    try:
        target = await _target(request, caller, services, _params(request))
        await caller.call(services.delivery.CreateReportSubscription, pb.CreateReportSubscriptionRequest(
            target=target, title=values["title"], frequency=values["frequency"],
            weekday=int(values["weekday"] or 0) if values["weekday"].isdigit() else 0,
            day_of_month=int(values["day_of_month"] or 0) if values["day_of_month"].isdigit() else 0,
            time_of_day=values["time_of_day"], time_zone=await tenant_zone(caller, services),
            format=values["format"] or "xlsx",
            recipient_ids=recipients))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        locale = page_locale(request)
        errors = {e["field"].split("[")[0]: e["message"] for e in localise_field_errors(exc.error.errors, locale)} or {
            "": problem_text(exc, locale)}
        return await _page(request, session, services, errors={f"sub.{k}": v for k, v in errors.items()},
                           form={f"sub.{k}": v for k, v in values.items()}, status_code=400)
    response = RedirectResponse(_back(request), status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("Subscribed: each recipient gets the dashboard as they may see it.")))
    return response


@router.post("/share/subscriptions/{subscription_id}/delete")
async def delete_subscription(request: Request, subscription_id: str, session: SessionDep,
                              services: BackendsDep) -> Response:
    form = await request.form()
    response = RedirectResponse(_back(request), status_code=303)
    if not csrf_ok(form, session):
        return response
    cookies: WebCookies = request.app.state.web_cookies
    try:
        await session_caller(request, session).call(services.delivery.DeleteReportSubscription,
                                                    pb.ReportSubscriptionIdRequest(id=subscription_id))
        cookies.flash(response, flash_message(N_("The subscription was stopped.")))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, flash_message(N_("The change was not saved: %(reason)s"),
                                              reason=problem_text(exc, page_locale(request))))
    return response
