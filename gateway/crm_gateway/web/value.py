"""/app/value: the customer value analysis list (the platform guide's table 3), read from reporting's
`GetValueAnalysis` with the session's token (docs/reporting.md, "Customer value"): annual spend, orders in
12 months, lifetime value, last order, average order value, predicted 3-year value, segment, RFM scores
and the reason in words. Data scope and field policies are reporting's: a role whose policies hide
spend (customer service) gets a page that says so, never an empty or zeroed list."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.api.dashboards import view_filters
from crm_gateway.i18n import N_, NC_, Locale, Msg, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, problem_text, raise_if_signed_out, session_scopes
from crm_gateway.web.dashboard import _subject
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.reporting.v1 import reporting_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

PAGE_SIZE: Final = 50
# The platform guide's customer segments (table 3).
SEGMENTS: Final[dict[str, Msg]] = {
    "high_value": NC_("segment", "High value"), "potential": NC_("segment", "Potential"),
    "normal": NC_("segment", "Normal"), "low_value": NC_("segment", "Low value"),
}
SORTS: Final[dict[str, Msg]] = {
    "annual_spend desc": N_("Annual spend, highest first"),
    "predicted_value desc": N_("Predicted 3-year value, highest first"),
    "lifetime_value desc": N_("Lifetime value, highest first"),
    "last_ordered_on desc": N_("Last order, newest first"),
    "last_ordered_on asc": N_("Last order, oldest first"),
    "orders_12m desc": N_("Orders in 12 months, most first"),
}


def value_row(item: Any, locale: Locale) -> dict[str, Any]:
    """One customer's figures as the page shows them (money in its currency, the reason in the page's
    language)."""
    money = lambda amount: formatting.money(amount, item.currency, locale) if amount else "—"  # noqa: E731
    return {
        "id": item.customer_id, "name": item.name, "segment": item.segment,
        "segment_label": messages(locale).text(SEGMENTS[item.segment]) if item.segment in SEGMENTS else item.segment,
        "annual_spend": money(item.annual_spend), "orders_12m": formatting.number(item.orders_12m, locale),
        "lifetime_value": money(item.lifetime_value), "orders": formatting.number(item.orders, locale),
        "last_ordered_on": item.last_ordered_on or "—", "average_order_value": money(item.average_order_value),
        "predicted_value": money(item.predicted_value),
        "rfm": (item.recency_score, item.frequency_score, item.monetary_score),
        "reason": item.reason_zh if locale == "zh-CN" else item.reason_en,
    }


@router.get("/value")
async def value_page(
    request: Request, session: SessionDep, services: BackendsDep, segment: str = "",
    order_by: str = "annual_spend desc", page_token: str = "", currency: str = "",
    object_: Annotated[str, Query(alias="object")] = "all",
) -> Response:
    locale = page_locale(request)
    t = messages(locale)
    caller = session_caller(request, session)
    segment = segment if segment in SEGMENTS else ""
    order_by = order_by if order_by in SORTS else "annual_spend desc"
    context: dict[str, Any] = {
        "session": session, "rows": [], "segment": segment, "order_by": order_by, "error": "", "hidden": False,
        # The value segments' tabs; `segments` are the saved customer segments of the object picker.
        "value_segments": [(key, t.text(text)) for key, text in SEGMENTS.items()], "segments": [],
        "sorts": [(key, t.text(text)) for key, text in SORTS.items()],
        "can_read": "reports:read" in session_scopes(session), "next_link": "", "total": None, "currency": "",
        "tags": [], "views": [], "object": object_,
    }
    if not context["can_read"]:
        return render(request, "value.html", context)
    subject, tags, views, segments = await _subject(caller, services, object_)
    context.update(tags=tags, views=views, segments=segments, object=subject.object)
    try:
        filters = await view_filters(caller, services, subject.object)
        reply = await caller.call(services.reporting.GetValueAnalysis, pb.GetValueAnalysisRequest(
            currency=currency, order_by=order_by, segment=segment, page_size=PAGE_SIZE, page_token=page_token,
            object=subject.object, view_filters=filters, segment_definition=subject.definition))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        if exc.error.status == grpc.StatusCode.PERMISSION_DENIED:
            context["hidden"] = True  # spend fields hidden for the role: no figures at all
        else:
            context["error"] = problem_text(exc, locale)
        return render(request, "value.html", context)
    context.update(rows=[value_row(item, locale) for item in reply.items], total=reply.total_size,
                   currency=reply.currency)
    if reply.next_page_token:
        context["next_link"] = "/app/value?" + urlencode({
            "segment": segment, "order_by": order_by, "currency": currency, "object": subject.object,
            "page_token": reply.next_page_token})
    return render(request, "value.html", context)
