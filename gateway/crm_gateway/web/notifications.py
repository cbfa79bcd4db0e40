"""/app/notifications: the notification centre (reminders of follow-up tasks, newest first, mark
read one by one or all) and the user's reminder channels; /app/notifications/count feeds the bell
in the shell (shell.js asks every 30 s). Everything is the followups service's, with the viewer's
token: a user sees and changes only their own."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.i18n import N_, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.followups import viewer_zone
from crm_gateway.web.session import WebCookies
from crm_gateway.web.templating import render
from crm_proto.crm.followups.v1 import followups_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

SHOWN: Final = 50
KIND_LABELS: Final = {"task_due": N_("Follow-up due"), "task_overdue": N_("Follow-up overdue"),
                      "task_escalated": N_("Follow-up escalated")}


@router.get("/notifications/count")
async def unread(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    try:
        reply = await caller.call(services.followups.ListNotifications,
                                  pb.ListNotificationsRequest(unread_only=True, page_size=1))
    except UpstreamError:
        return JSONResponse({"unread": None}, status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse({"unread": reply.unread_count}, headers={"Cache-Control": "no-store"})


@router.get("/notifications")
async def centre(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    error = None
    items: list[dict[str, Any]] = []
    unread_count = 0
    chosen = pb.NotificationPreferences(in_app=True, email=True, digest=True)
    try:
        zone = await viewer_zone(request, caller, services)
        reply = await caller.call(services.followups.ListNotifications, pb.ListNotificationsRequest(page_size=SHOWN))
        chosen = await caller.call(services.followups.GetNotificationPreferences,
                                   pb.GetNotificationPreferencesRequest())
        unread_count = reply.unread_count
        for n in reply.items:
            items.append({
                "id": n.id, "kind": n.kind, "title": n.title, "customer_id": n.customer_id,
                "unread": not n.HasField("read_at"),
                "kind_label": messages(locale).text(KIND_LABELS[n.kind]) if n.kind in KIND_LABELS else n.kind,
                "due": formatting.local_time(n.due_at, zone, locale) if n.HasField("due_at") else "",
                "when": formatting.local_time(n.created_at, zone, locale),
            })
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        error = problem_text(exc, locale)
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    response = render(request, "notifications.html", {
        "session": session, "items": items, "unread_count": unread_count, "prefs": chosen, "error": error,
        "flash": flash_text(flash, locale),
    })
    cookies.clear_flash(request, response)
    return response


@router.post("/notifications/read")
async def mark_read(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    response = RedirectResponse("/app/notifications", status_code=303)
    if not csrf_ok(form, session):
        return response
    caller = session_caller(request, session)
    ids = [str(v) for v in form.getlist("id")]
    target = str(form.get("open") or "")
    try:
        await caller.call(services.followups.MarkNotificationsRead,
                          pb.MarkNotificationsReadRequest(ids=ids, all=not ids))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
    if target.startswith("/app/customers/"):  # opening a notification reads it, then goes to its customer
        return RedirectResponse(target, status_code=303)
    return response


@router.post("/notifications/preferences")
async def preferences(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    response = RedirectResponse("/app/notifications", status_code=303)
    if not csrf_ok(form, session):
        return response
    caller = session_caller(request, session)
    try:
        await caller.call(services.followups.UpdateNotificationPreferences, pb.NotificationPreferences(
            in_app=form.get("in_app") == "on", email=form.get("email") == "on", digest=form.get("digest") == "on"))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return response
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(N_("Reminder settings saved.")))
    return response
