"""/app/webhooks: tenant admins manage webhook endpoints (create, edit, enable/disable, rotate the
signing secret, send a test event, delete) and read each endpoint's delivery log (status, attempts,
next attempt, request and response excerpts), replay one delivery or a time range (a job with its
own progress page), and see dead letters and why an endpoint was disabled. Every action calls the
webhooks service with the session's token, as the REST API does (`webhooks:manage`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.webhook_deliveries import WebhookDelivery, delivery_out, proto_time, replay_out
from crm_gateway.api.webhook_endpoints import WebhookEndpoint, endpoint_out
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, flash_text, problem_text, raise_if_signed_out
from crm_gateway.web.labels import LABELS, label
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import message_page, page_locale, render
from crm_proto.crm.webhooks.v1 import webhooks_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE: Final = "/app/webhooks"
DELIVERIES_PER_PAGE: Final = 20
# The event types an endpoint can subscribe to (docs/events.md), in the form's order; the test
# event is sent only on request, never subscribed to.
EVENT_TYPES: Final = tuple(t for t in LABELS["webhook.event"] if t != "crm.webhook.test")
DELIVERY_FILTERS: Final = ("", "dead", "failed", "pending", "succeeded", "cancelled")
REPLAYABLE: Final = ("succeeded", "dead")
FINISHED_REPLAY: Final = frozenset({"succeeded", "failed"})
FORM_EXPIRED: Final = N_("The form expired; please submit it again.")


@dataclass
class EndpointForm:
    values: dict[str, Any] = field(default_factory=lambda: {"url": "", "description": "", "event_types": []})
    field_errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class ShownSecret:
    secret: str
    rotated: bool = False


def _caller(request: Request, session: WebSession) -> Caller:
    return session_caller(request, session)


def _status(exc: UpstreamError) -> int:
    if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
        return 400
    return GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]


def _form_values(raw: Any) -> dict[str, Any]:
    return {
        "url": str(raw.get("url") or "").strip(),
        "description": str(raw.get("description") or "").strip(),
        "event_types": [str(v) for v in raw.getlist("event_types") if str(v) in EVENT_TYPES],
    }


def _form_errors(exc: UpstreamError, values: dict[str, Any], locale: Locale) -> EndpointForm:
    """A refused form with each field's message next to it (event_types[3] -> event_types)."""
    errors = localise_field_errors(exc.error.errors, locale)
    placed = {e["field"].split("[")[0]: e["message"] for e in errors
              if e["field"].split("[")[0] in ("url", "description", "event_types")}
    error = (messages(locale).gettext("Please correct the highlighted fields.") if placed
             else problem_text(exc, locale))
    return EndpointForm(values, placed, error)


def _flash_redirect(request: Request, to: str, msg: Msg, **params: object) -> Response:
    response = RedirectResponse(to, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(msg, **params))
    return response


def _take_flash(request: Request) -> str | None:
    cookies: WebCookies = request.app.state.web_cookies
    return flash_text(cookies.read_flash(request), page_locale(request))


def _clear_flash(request: Request, response: Response) -> Response:
    cookies: WebCookies = request.app.state.web_cookies
    cookies.clear_flash(request, response)
    return response


def _events_text(endpoint: WebhookEndpoint, locale: Locale) -> list[str]:
    return [label("webhook.event", t, locale) for t in endpoint.event_types]


def health(endpoint: WebhookEndpoint) -> str:
    """One word for an endpoint's state: active, failing, disabled (by hand) or auto_disabled."""
    if not endpoint.enabled:
        return "auto_disabled" if endpoint.disabled_reason == "failing" else "disabled"
    return "failing" if endpoint.failing_since is not None else "active"


# -- the list ---------------------------------------------------------------------------------------
async def _list_page(request: Request, session: WebSession, services: Any, *, status_code: int = 200,
                     form: EndpointForm | None = None, banner: str | None = None) -> Response:
    caller = _caller(request, session)
    locale = caller.locale
    rows: list[dict[str, Any]] = []
    list_error = None
    try:
        reply = await caller.call(services.webhooks.ListEndpoints, pb.ListEndpointsRequest())
        for message in reply.items:
            endpoint = endpoint_out(message)
            rows.append({"endpoint": endpoint, "health": health(endpoint), "events": _events_text(endpoint, locale)})
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        list_error = problem_text(exc, locale)
        status_code = max(status_code, _status(exc))
    context = {
        "session": session, "rows": rows, "list_error": list_error, "form": form or EndpointForm(),
        "event_types": EVENT_TYPES, "banner": banner or _take_flash(request),
    }
    return _clear_flash(request, render(request, "webhooks.html", context, status_code=status_code))


@router.get("/webhooks")
async def list_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _list_page(request, session, services)


@router.post("/webhooks")
async def create(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    values = _form_values(raw)
    if not csrf_ok(raw, session):
        return await _list_page(request, session, services, status_code=403,
                                form=EndpointForm(values, error=messages(locale).text(FORM_EXPIRED)))
    try:
        reply = await _caller(request, session).call(services.webhooks.CreateEndpoint, pb.CreateEndpointRequest(
            url=values["url"], description=values["description"], event_types=values["event_types"]))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await _list_page(request, session, services, status_code=_status(exc),
                                form=_form_errors(exc, values, locale))
    banner = messages(locale).gettext("Webhook endpoint created.")
    return await _endpoint_page(request, session, services, reply.endpoint.id, status_code=201,
                                shown=ShownSecret(reply.secret), banner=banner)


# -- one endpoint ---------------------------------------------------------------------------------
def _attempt_rows(delivery: WebhookDelivery) -> list[dict[str, Any]]:
    return [a.model_dump() for a in reversed(delivery.attempt_log)]  # newest first


async def _endpoint_page(
    request: Request, session: WebSession, services: Any, endpoint_id: str, *, status_code: int = 200,
    shown: ShownSecret | None = None, banner: str | None = None, error: str | None = None,
    form: EndpointForm | None = None, replay_form: dict[str, Any] | None = None,
) -> Response:
    caller = _caller(request, session)
    locale = caller.locale
    status_filter = request.query_params.get("status", "")
    status_filter = status_filter if status_filter in DELIVERY_FILTERS else ""
    page_token = request.query_params.get("page_token", "")
    try:
        endpoint = endpoint_out(await caller.call(services.webhooks.GetEndpoint, pb.GetEndpointRequest(id=endpoint_id)))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        title = messages(locale).gettext("Webhooks")
        return message_page(request, title, problem_text(exc, locale), status_code=_status(exc),
                            link=(PAGE, messages(locale).gettext("Back to webhooks")))
    deliveries: list[WebhookDelivery] = []
    next_token = ""
    log_error = None
    try:
        reply = await caller.call(services.webhooks.ListDeliveries, pb.ListDeliveriesRequest(
            endpoint_id=endpoint_id, page_size=DELIVERIES_PER_PAGE, page_token=page_token, status=status_filter))
        deliveries = [delivery_out(d) for d in reply.items]
        next_token = reply.next_page_token
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        log_error = problem_text(exc, locale)
    replays = []
    try:
        replay_reply = await caller.call(services.webhooks.ListReplays,
                                         pb.ListReplaysRequest(endpoint_id=endpoint_id, page_size=5))
        replays = [replay_out(r) for r in replay_reply.items]
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
    context = {
        "session": session, "endpoint": endpoint, "health": health(endpoint),
        "events": _events_text(endpoint, locale), "event_types": EVENT_TYPES,
        "form": form or EndpointForm({"url": endpoint.url, "description": endpoint.description,
                                      "event_types": list(endpoint.event_types)}),
        "deliveries": [{"d": d, "attempts": _attempt_rows(d)} for d in deliveries],
        "next_token": next_token, "status_filter": status_filter, "filters": DELIVERY_FILTERS,
        "log_error": log_error, "replays": [{"r": r, "percent": _percent(r)} for r in replays],
        "shown": shown, "banner": banner or _take_flash(request), "error": error,
        "replay_form": replay_form or {"since": "", "until": "", "statuses": list(REPLAYABLE), "errors": {}},
        "replayable": REPLAYABLE, "last_failure": last_failure(deliveries),
    }
    return _clear_flash(request, render(request, "webhook_endpoint.html", context, status_code=status_code))


def last_failure(deliveries: list[WebhookDelivery]) -> str:
    """What the receiver last answered, from the newest delivery attempted ("endpoint disabled",
    written when waiting deliveries were dead-lettered, says nothing about the receiver)."""
    for delivery in deliveries:
        if delivery.attempt_log:
            attempt = delivery.attempt_log[-1]
            return attempt.error or (f"HTTP {attempt.status_code}" if attempt.status_code else "")
    return ""


def _percent(replay: Any) -> int:
    if replay.status == "succeeded":
        return 100
    done = replay.deliveries_replayed + replay.deliveries_skipped
    return min(100, round(100 * done / replay.deliveries_total)) if replay.deliveries_total else 0


@router.get("/webhooks/{endpoint_id}")
async def endpoint_page(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _endpoint_page(request, session, services, endpoint_id)


@router.post("/webhooks/{endpoint_id}")
async def update(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    values = _form_values(raw)
    if not csrf_ok(raw, session):
        return await _endpoint_page(request, session, services, endpoint_id, status_code=403,
                                    form=EndpointForm(values, error=messages(locale).text(FORM_EXPIRED)))
    change = pb.UpdateEndpointRequest(id=endpoint_id, url=values["url"], description=values["description"],
                                      replace_event_types=True, event_types=values["event_types"])
    try:
        await _caller(request, session).call(services.webhooks.UpdateEndpoint, change)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await _endpoint_page(request, session, services, endpoint_id, status_code=_status(exc),
                                    form=_form_errors(exc, values, locale))
    return _flash_redirect(request, f"{PAGE}/{endpoint_id}", N_("Changes saved."))


async def _action(request: Request, session: WebSession, services: Any, endpoint_id: str, rpc: str,
                  message: Any, done: Msg) -> Response:
    """A button that calls one operation and comes back to the endpoint's page with a notice."""
    raw = await request.form()
    locale = page_locale(request)
    if not csrf_ok(raw, session):
        return await _endpoint_page(request, session, services, endpoint_id, status_code=403,
                                    error=messages(locale).text(FORM_EXPIRED))
    try:
        await _caller(request, session).call(getattr(services.webhooks, rpc), message)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await _endpoint_page(request, session, services, endpoint_id, status_code=_status(exc),
                                    error=problem_text(exc, locale))
    return _flash_redirect(request, f"{PAGE}/{endpoint_id}", done)


@router.post("/webhooks/{endpoint_id}/enable")
async def enable(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _action(request, session, services, endpoint_id, "UpdateEndpoint",
                         pb.UpdateEndpointRequest(id=endpoint_id, enabled=True),
                         N_("Endpoint enabled. Dead letters are not resent on their own: replay them below."))


@router.post("/webhooks/{endpoint_id}/disable")
async def disable(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _action(request, session, services, endpoint_id, "UpdateEndpoint",
                         pb.UpdateEndpointRequest(id=endpoint_id, enabled=False),
                         N_("Endpoint disabled. Deliveries that were waiting are now dead letters."))


@router.post("/webhooks/{endpoint_id}/test")
async def send_test(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _action(request, session, services, endpoint_id, "SendTestEvent",
                         pb.SendTestEventRequest(endpoint_id=endpoint_id),
                         N_("Test event sent. It appears in the delivery log below."))


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay_delivery(request: Request, endpoint_id: str, delivery_id: str, session: SessionDep,
                          services: BackendsDep) -> Response:
    return await _action(request, session, services, endpoint_id, "ReplayDelivery",
                         pb.ReplayDeliveryRequest(id=delivery_id),
                         N_("Delivery queued to be sent again, with the same webhook-id."))


@router.post("/webhooks/{endpoint_id}/rotate-secret")
async def rotate_secret(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    if not csrf_ok(raw, session):
        return await _endpoint_page(request, session, services, endpoint_id, status_code=403,
                                    error=messages(locale).text(FORM_EXPIRED))
    try:
        reply = await _caller(request, session).call(services.webhooks.RotateEndpointSecret,
                                                     pb.RotateEndpointSecretRequest(id=endpoint_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await _endpoint_page(request, session, services, endpoint_id, status_code=_status(exc),
                                    error=problem_text(exc, locale))
    response = await _endpoint_page(request, session, services, endpoint_id, shown=ShownSecret(reply.secret, True))
    response.headers["Cache-Control"] = "no-store"
    return response


def _local_time(value: str, zone: ZoneInfo) -> datetime | None:
    """<input type=datetime-local> (wall-clock time in the viewer's zone) as UTC."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=zone).astimezone(UTC)
    except ValueError:
        return None


@router.post("/webhooks/{endpoint_id}/replay")
async def replay_range(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    zone = formatting.viewer_zone(request, locale)
    form: dict[str, Any] = {"since": str(raw.get("since") or ""), "until": str(raw.get("until") or ""),
                            "statuses": [str(v) for v in raw.getlist("statuses") if str(v) in REPLAYABLE],
                            "errors": {}}
    if not csrf_ok(raw, session):
        return await _endpoint_page(request, session, services, endpoint_id, status_code=403,
                                    error=messages(locale).text(FORM_EXPIRED), replay_form=form)
    since = _local_time(form["since"], zone)
    until = _local_time(form["until"], zone) if form["until"] else None
    catalogue = messages(locale)
    if since is None:
        form["errors"]["since"] = catalogue.gettext("Enter when the range starts.")
    if form["until"] and until is None:
        form["errors"]["until"] = catalogue.gettext("Enter a valid time, or leave it empty for now.")
    if not form["statuses"]:
        form["errors"]["statuses"] = catalogue.gettext("Choose at least one kind of delivery.")
    if form["errors"]:
        return await _endpoint_page(request, session, services, endpoint_id, status_code=400, replay_form=form)
    assert since is not None
    message = pb.CreateReplayRequest(endpoint_id=endpoint_id, since=proto_time(since), statuses=form["statuses"])
    if until is not None:
        message.until.CopyFrom(proto_time(until))
    try:
        reply = await _caller(request, session).call(services.webhooks.CreateReplay, message)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        for e in localise_field_errors(exc.error.errors, locale):
            form["errors"][e["field"].split("[")[0]] = e["message"]
        return await _endpoint_page(request, session, services, endpoint_id, status_code=_status(exc),
                                    error=None if form["errors"] else problem_text(exc, locale), replay_form=form)
    return RedirectResponse(f"{PAGE}/{endpoint_id}/replays/{reply.id}", status_code=303)


@router.get("/webhooks/{endpoint_id}/replays/{replay_id}")
async def replay_progress(request: Request, endpoint_id: str, replay_id: str, session: SessionDep,
                          services: BackendsDep) -> Response:
    caller = _caller(request, session)
    locale = caller.locale
    try:
        replay = replay_out(await caller.call(services.webhooks.GetReplay, pb.GetReplayRequest(id=replay_id)))
        endpoint = endpoint_out(await caller.call(services.webhooks.GetEndpoint, pb.GetEndpointRequest(id=endpoint_id)))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, messages(locale).gettext("Replay"), problem_text(exc, locale),
                            status_code=_status(exc), link=(PAGE, messages(locale).gettext("Back to webhooks")))
    if replay.endpoint_id != endpoint.id:
        return message_page(request, messages(locale).gettext("Replay"),
                            messages(locale).gettext("This replay does not exist."), status_code=404,
                            link=(PAGE, messages(locale).gettext("Back to webhooks")))
    context = {"session": session, "endpoint": endpoint, "replay": replay, "percent": _percent(replay),
               "finished": replay.status in FINISHED_REPLAY}
    return render(request, "webhook_replay.html", context)


# -- delete -----------------------------------------------------------------------------------------
@router.get("/webhooks/{endpoint_id}/delete")
async def delete_confirm(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    caller = _caller(request, session)
    locale = caller.locale
    try:
        endpoint = endpoint_out(await caller.call(services.webhooks.GetEndpoint, pb.GetEndpointRequest(id=endpoint_id)))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, messages(locale).gettext("Delete webhook endpoint"), problem_text(exc, locale),
                            status_code=_status(exc), link=(PAGE, messages(locale).gettext("Back to webhooks")))
    return render(request, "webhook_delete.html", {"session": session, "endpoint": endpoint, "error": None})


@router.post("/webhooks/{endpoint_id}/delete")
async def delete(request: Request, endpoint_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    caller = _caller(request, session)
    if not csrf_ok(raw, session) or str(raw.get("confirm") or "") != "delete":
        return await _endpoint_page(request, session, services, endpoint_id, status_code=403,
                                    error=messages(locale).text(FORM_EXPIRED))
    try:
        reply = await caller.call(services.webhooks.DeleteEndpoint, pb.DeleteEndpointRequest(id=endpoint_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return message_page(request, messages(locale).gettext("Delete webhook endpoint"), problem_text(exc, locale),
                            status_code=_status(exc), link=(PAGE, messages(locale).gettext("Back to webhooks")))
    return _flash_redirect(request, PAGE, N_("Endpoint deleted; %(count)s waiting deliveries were cancelled."),
                           count=reply.deliveries_cancelled)
