"""/app/followups/settings (tab "Settings"): the tenant's follow-up settings for everyone with
`followups:read`, changed with `followups:manage`:

- the default escalation (`escalate_after_days`, /v1/followup-settings): after how many days overdue
  an open task is escalated to the manager of its assignee's team;
- the inbound email address (/v1/followup-inbound-address) to BCC or forward mail with customers
  to, with a copy button (static/shell.js), a short how-to, and a rotate button behind a
  confirmation step (no script needed).

Every call goes to followups with the viewer's token, so its permissions decide (docs/followups.md)."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.followup_inbound import address_out
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Msg
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.followups import is_manager, viewer_zone
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.followups.v1 import automation_pb2 as apb
from crm_proto.crm.followups.v1 import inbound_pb2

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/followups/settings"


@router.get("/followups/settings")
async def settings_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    context: dict[str, Any] = {"session": session, "tab": "settings", "manager": is_manager(session),
                               "flash": flash_text(flash, locale), "error": (flash or {}).get("text"),
                               "settings": None, "address": None, "updated": ""}
    try:
        found, inbound = await asyncio.gather(
            caller.call(services.followup_automation.GetFollowupSettings, apb.GetFollowupSettingsRequest()),
            caller.call(services.inbound_mail.GetInboundAddress, inbound_pb2.GetInboundAddressRequest()))
        context["address"] = (await address_out(caller, services, inbound)).address
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        context["error"] = problem_text(exc, locale)
        return render(request, "followup_settings.html", context, status_code=502)
    context["settings"] = found
    if found.HasField("updated_at"):
        zone = await viewer_zone(request, caller, services)
        context["updated"] = formatting.local_time(found.updated_at, zone, locale)
    response = render(request, "followup_settings.html", context)
    cookies.clear_flash(request, response)
    return response


async def _act(request: Request, session: WebSession, call: Any, done: Msg) -> Response:
    """Runs a change for a form post and goes back to the page with the outcome."""
    form = await request.form()
    cookies: WebCookies = request.app.state.web_cookies
    response = RedirectResponse(PAGE, status_code=303)
    if not csrf_ok(form, session):
        return response
    try:
        await call(session_caller(request, session), form)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        cookies.flash(response, {"text": problem_text(exc, page_locale(request))})
        return response
    cookies.flash(response, flash_message(done))
    return response


def _days(value: Any) -> int:
    """The form's number (an out-of-range one reaches followups, which names the field)."""
    try:
        return max(min(int(str(value or "0").strip()), 100_000), -1)
    except ValueError:
        return -1


@router.post("/followups/settings/escalation")
async def save_escalation(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: Any) -> None:
        await caller.call(services.followup_automation.UpdateFollowupSettings, apb.UpdateFollowupSettingsRequest(
            update_mask=["escalate_after_days"],
            settings=apb.FollowupSettings(escalate_after_days=_days(form.get("escalate_after_days")))))

    return await _act(request, session, call, N_("Escalation setting saved."))


@router.post("/followups/settings/inbound-address/rotate")
async def rotate_address(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    async def call(caller: Caller, form: Any) -> None:
        await caller.call(services.inbound_mail.RotateInboundAddress, inbound_pb2.RotateInboundAddressRequest())

    return await _act(request, session, call, N_("A new inbound address was made; the old one no longer works."))
