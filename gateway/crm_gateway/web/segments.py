"""/app/tags/segments: saved dynamic segments (docs/tagging.md, "Segments"): the list with each
segment's live count (in the reader's data scope), a builder (tags all / any / none, the customer
list's main field filters, spend in 12 months and orders in 30 days) whose Preview shows the count
and a sample before Save, and "Open as customer list" (/app/customers?segment_id=). Every call
carries the session's token, so scopes, data scope and field policies apply as in the REST API."""

from __future__ import annotations

import asyncio
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, messages
from crm_gateway.problems import UpstreamError, localise_field_errors
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, csrf_ok, problem_text, raise_if_signed_out
from crm_gateway.web.labels import label
from crm_gateway.web.tag_library import PAGE, _redirect, _render, _status
from crm_gateway.web.templating import page_locale
from crm_gateway.web.value import SEGMENTS as SEGMENT_LABELS
from crm_proto.crm.customers.v1 import segments_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)

# Reporting's value segments (the value list's labels), a segment part.
VALUE_SEGMENTS: Final = SEGMENT_LABELS

SEGMENTS_PAGE: Final = f"{PAGE}/segments"
TAG_PARTS: Final = ("all_tags", "any_tags", "none_tags")
FIELD_FILTERS: Final = ("status", "type", "industry", "region", "source")
STATUSES: Final = ("potential", "intent", "won", "lost")
TYPES: Final = ("enterprise", "individual")
NUMBERS: Final = ("spend_12m_min", "spend_12m_max", "orders_30d_min", "orders_30d_max")


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def definition_from_form(form: FormData) -> tuple[pb.SegmentDefinition, dict[str, Any]]:
    """The builder's controls as a definition, and the values to show again."""
    values: dict[str, Any] = {part: [str(v) for v in form.getlist(part) if str(v).strip()]
                              for part in (*TAG_PARTS, "value_segments")}
    values |= {name: _text(form, name) for name in (*FIELD_FILTERS, *NUMBERS, "name", "description")}
    values["visibility"] = "shared" if _text(form, "visibility") == "shared" else "private"
    definition = pb.SegmentDefinition(
        all_tags=values["all_tags"], any_tags=values["any_tags"], none_tags=values["none_tags"],
        filters={name: values[name] for name in FIELD_FILTERS if values[name]},
        **{name: values[name] for name in NUMBERS}, value_segments=values["value_segments"],
    )
    return definition, values


async def _count(caller: Caller, services: Any, segment_id: str) -> int | None:
    try:
        reply = await caller.call(services.segments.CountSegment, pb.CountSegmentRequest(id=segment_id))
    except UpstreamError:
        return None  # e.g. a spend segment and a role that may not see spend: shown as "—"
    return int(reply.count)


def _summary(definition: pb.SegmentDefinition, tag_names: dict[str, str], locale: Any) -> list[str]:
    t = messages(locale)

    def names(ids: Any) -> str:
        return "、".join(tag_names.get(i, i[:8]) for i in ids)

    parts = []
    if definition.all_tags:
        parts.append(t.gettext("has all of: %(tags)s", tags=names(definition.all_tags)))
    if definition.any_tags:
        parts.append(t.gettext("has any of: %(tags)s", tags=names(definition.any_tags)))
    if definition.none_tags:
        parts.append(t.gettext("has none of: %(tags)s", tags=names(definition.none_tags)))
    for name, value in sorted(definition.filters.items()):
        shown = label(name, value, locale) if name in ("status", "type") else value
        parts.append(f"{label('filter', name, locale)}: {shown}")
    if definition.spend_12m_min or definition.spend_12m_max:
        parts.append(t.gettext("spend in 12 months %(low)s – %(high)s %(currency)s",
                               low=definition.spend_12m_min or "0", high=definition.spend_12m_max or "∞",
                               currency=definition.spend_currency or "CNY"))
    if definition.orders_30d_min or definition.orders_30d_max:
        parts.append(t.gettext("orders in 30 days %(low)s – %(high)s", low=definition.orders_30d_min or "0",
                               high=definition.orders_30d_max or "∞"))
    if definition.value_segments:
        parts.append(t.gettext("value segment: %(segments)s", segments="、".join(
            t.text(VALUE_SEGMENTS[v]) if v in VALUE_SEGMENTS else v for v in definition.value_segments)))
    return parts or [t.gettext("every customer")]


async def _segments_context(caller: Caller, services: Any) -> tuple[list[Any], list[int | None]]:
    reply = await caller.call(services.segments.ListSegments, pb.ListSegmentsRequest())
    counts = await asyncio.gather(*(_count(caller, services, s.id) for s in reply.items))
    return list(reply.items), list(counts)


async def _page(request: Request, session: Any, services: Any, form: dict[str, Any], status_code: int = 200,
                **extra: Any) -> Response:
    """The page inside the /app/tags shell (`tag_library._render` loads the tag library, whose
    names the rows' summaries and the builder's tag choices use: `rows(tags)` in the template)."""
    caller = session_caller(request, session)
    locale = caller.locale
    me = str(token_claims(session.token).get("uid", ""))
    try:
        segments, counts = await _segments_context(caller, services)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        segments, counts = [], []
        extra.setdefault("error", problem_text(exc, locale))

    def rows(tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = {t["id"]: t["name"] for t in tags}
        return [{"id": s.id, "name": s.name, "description": s.description, "shared": s.visibility == "shared",
                 "mine": s.owner == me, "summary": _summary(s.definition, names, locale),
                 "count": None if count is None else formatting.number(count, locale)}
                for s, count in zip(segments, counts, strict=True)]

    return await _render(request, session, services, "tags_segments.html", "segments", {
        "rows": rows, "form": form, "statuses": [(s, label("status", s, locale)) for s in STATUSES],
        "types": [(s, label("type", s, locale)) for s in TYPES],
        "value_segments": [(k, messages(locale).text(v)) for k, v in VALUE_SEGMENTS.items()], **extra,
    }, status_code)


@router.get("/tags/segments")
async def segments_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _page(request, session, services, {"visibility": "private"})


@router.post("/tags/segments")
async def save_segment(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    """The builder's two buttons: `preview` shows the count and a sample; `save` keeps the segment."""
    form = await request.form()
    locale = page_locale(request)
    caller = session_caller(request, session)
    definition, values = definition_from_form(form)
    if not csrf_ok(form, session):
        return await _page(request, session, services, values, 403,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        if form.get("intent") == "save":
            saved = await caller.call(services.segments.CreateSegment, pb.CreateSegmentRequest(segment=pb.SegmentInput(
                name=values["name"], description=values["description"], visibility=values["visibility"],
                definition_set=True, definition=definition)))
            return _redirect(request, f"{SEGMENTS_PAGE}#segment-{saved.id}", N_("Segment saved."))
        reply = await caller.call(services.segments.PreviewSegment,
                                  pb.PreviewSegmentRequest(definition=definition, sample_size=10))
        values["preview"] = {"count": formatting.number(reply.count, locale),
                             "sample": [{"id": s.id, "name": s.name, "code": s.code} for s in reply.sample]}
        return await _page(request, session, services, values)
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        values["field_errors"] = [f"{e['field']}: {e['message']}"
                                  for e in localise_field_errors(exc.error.errors, locale)]
        return await _page(request, session, services, values, _status(exc), error=problem_text(exc, locale))


@router.post("/tags/segments/{segment_id}/delete")
async def delete_segment(request: Request, segment_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    caller = session_caller(request, session)
    locale = page_locale(request)
    if not csrf_ok(form, session):
        return await _page(request, session, services, {"visibility": "private"}, 403,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        await caller.call(services.segments.DeleteSegment, pb.DeleteSegmentRequest(id=segment_id))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return await _page(request, session, services, {"visibility": "private"}, _status(exc),
                           error=problem_text(exc, locale))
    return _redirect(request, SEGMENTS_PAGE, N_("Segment deleted."))
