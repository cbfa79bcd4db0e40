"""Feedback pages: the list under /app/followups/feedback (filters by channel, category, sentiment
and rating), the Feedback section of the customer page (history, the form to log feedback, "send
survey"), and the public survey answer page /survey/{token} (no sign-in: the link is the credential; in the
survey's language; one answer). Everything signed in is asked of followups with the viewer's token,
so its data scope decides what is shown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, messages
from crm_gateway.problems import UpstreamError
from crm_gateway.web import followups, formatting
from crm_gateway.web.auth import session_caller
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.shell import session_scopes
from crm_gateway.web.templating import render
from crm_proto.crm.followups.v1 import feedback_pb2 as pb
from crm_proto.crm.followups.v1 import followups_pb2 as fu_pb

router = APIRouter(include_in_schema=False)

SHOWN: Final = 50
CHANNELS: Final = (("phone", N_("Phone")), ("email", N_("Email")), ("online_review", N_("Online review")),
                   ("survey", N_("Survey")))
SENTIMENTS: Final = (("positive", N_("Positive")), ("neutral", N_("Neutral")), ("negative", N_("Negative")))
KINDS: Final = (("csat", N_("Satisfaction (CSAT, 1-5)")), ("nps", N_("Recommendation (NPS, 0-10)")))


@dataclass
class FeedbackRow:
    id: str
    customer_id: str
    customer: str
    channel: str
    category: str
    rating: int
    nps_score: int
    text: str
    sentiment: str
    sentiment_label: str
    score: float
    received: str


@dataclass
class FeedbackSection:
    rows: list[FeedbackRow] = field(default_factory=list)
    surveys: list[dict[str, str]] = field(default_factory=list)
    categories: list[tuple[str, str]] = field(default_factory=list)
    channels: list[tuple[str, str]] = field(default_factory=list)
    kinds: list[tuple[str, str]] = field(default_factory=list)
    writable: bool = False


def _choices(pairs: tuple[tuple[str, Any], ...], locale: Locale) -> list[tuple[str, str]]:
    return [(code, messages(locale).text(name)) for code, name in pairs]


async def categories(caller: Caller, services: Any) -> list[tuple[str, str]]:
    reply = await caller.call(services.followups.GetDictionary, fu_pb.GetDictionaryRequest(name="feedback_category"))
    return [(e.code, e.label_en if caller.locale == "en" else e.label_zh) for e in reply.entries]


def _rows(items: Any, names: dict[str, str], category_names: dict[str, str], locale: Locale,
          when: Any) -> list[FeedbackRow]:
    channel_names = dict(_choices(CHANNELS, locale))
    sentiment_names = dict(_choices(SENTIMENTS, locale))
    return [FeedbackRow(
        id=f.id, customer_id=f.customer_id, customer=names.get(f.customer_id, f.customer_id[:8] + "…"),
        channel=channel_names.get(f.channel, f.channel), category=category_names.get(f.category, f.category),
        rating=f.rating, nps_score=f.nps_score, text=f.text, sentiment=f.sentiment,
        sentiment_label=sentiment_names.get(f.sentiment, ""), score=round(f.sentiment_score, 2),
        received=when(f.received_at)) for f in items]


def _when(request: Request, zone: Any, locale: Locale) -> Any:
    return lambda stamp: formatting.local_time(stamp, zone, locale)


# -- the list ----------------------------------------------------------------------------------------

@router.get("/app/followups/feedback")
async def feedback_list(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    query = request.query_params
    chosen = {name: str(query.get(name) or "") for name in ("channel", "category", "sentiment", "rating")}
    rating = int(chosen["rating"]) if chosen["rating"].isdigit() and 1 <= int(chosen["rating"]) <= 5 else 0
    context: dict[str, Any] = {
        "session": session, "tab": "feedback", "manager": followups.is_manager(session), "chosen": chosen,
        "channels": _choices(CHANNELS, locale), "sentiments": _choices(SENTIMENTS, locale), "rows": [],
        "categories": [], "more": False, "error": None,
    }
    try:
        zone = await followups.viewer_zone(request, caller, services)
        cats, reply = await asyncio.gather(categories(caller, services), caller.call(
            services.feedback.ListFeedback, pb.ListFeedbackRequest(
                channel=chosen["channel"], category=chosen["category"], sentiment=chosen["sentiment"],
                rating=rating, page_size=SHOWN, page_token=str(query.get("page_token") or ""))))
        names = await followups.names_for(caller, services, (f.customer_id for f in reply.items))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        context["error"] = problem_text(exc, locale)
        return render(request, "feedback.html", context, status_code=400 if exc.error.errors else 502)
    context.update(categories=cats, rows=_rows(reply.items, names.customers, dict(cats), locale,
                                               _when(request, zone, locale)),
                   next_href=("?" + urlencode({**{k: v for k, v in chosen.items() if v},
                                               "page_token": reply.next_page_token})
                              if reply.next_page_token else ""))
    return render(request, "feedback.html", context)


# -- the customer page's section ------------------------------------------------------------------------

async def customer_section(caller: Caller, services: Any, session: WebSession, request: Request,
                           customer_id: str) -> FeedbackSection | None:
    """None when the session may not read follow-ups (or the service cannot answer)."""
    scopes = session_scopes(session)
    if "followups:read" not in scopes:
        return None
    locale = caller.locale
    try:
        zone = await followups.viewer_zone(request, caller, services)
        cats, items, sent = await asyncio.gather(
            categories(caller, services),
            caller.call(services.feedback.ListFeedback, pb.ListFeedbackRequest(customer_id=customer_id,
                                                                               page_size=20)),
            caller.call(services.feedback.ListSurveys, pb.ListSurveysRequest(customer_id=customer_id, page_size=5)))
    except UpstreamError:
        return None
    when = _when(request, zone, locale)
    kinds = dict(_choices(KINDS, locale))
    status_names = {"sent": messages(locale).pgettext("survey", "Sent"),
                    "answered": messages(locale).pgettext("survey", "Answered"),
                    "expired": messages(locale).pgettext("survey", "Expired")}
    return FeedbackSection(
        rows=_rows(items.items, {}, dict(cats), locale, when),
        surveys=[{"kind": kinds.get(s.kind, s.kind), "status": s.status, "status_label": status_names[s.status],
                  "sent": when(s.sent_at), "email": s.email} for s in sent.items],
        categories=cats, channels=_choices(CHANNELS[:3], locale), kinds=_choices(KINDS, locale),
        writable="followups:write" in scopes)


def _back(customer_id: str, request: Request, text: Any, **params: str) -> Response:
    response = RedirectResponse(f"/app/customers/{customer_id}#feedback", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(text, **params))
    return response


@router.post("/app/customers/{customer_id}/feedback")
async def log_feedback(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    if not csrf_ok(form, session):
        return RedirectResponse(f"/app/customers/{customer_id}#feedback", status_code=303)
    caller = session_caller(request, session)
    raw_rating = str(form.get("rating") or "")
    try:
        await caller.call(services.feedback.CreateFeedback, pb.CreateFeedbackRequest(
            customer_id=customer_id, channel=str(form.get("channel") or ""), category=str(form.get("category") or ""),
            rating=int(raw_rating) if raw_rating.isdigit() else 0, text=str(form.get("text") or "")))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return _back(customer_id, request, N_("Feedback not saved: %(reason)s"),
                     reason=problem_text(exc, caller.locale))
    return _back(customer_id, request, N_("Feedback logged."))


@router.post("/app/customers/{customer_id}/surveys")
async def send_survey(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    form = await request.form()
    if not csrf_ok(form, session):
        return RedirectResponse(f"/app/customers/{customer_id}#feedback", status_code=303)
    caller = session_caller(request, session)
    try:
        await caller.call(services.feedback.SendSurvey, pb.SendSurveyRequest(
            customer_id=customer_id, kind=str(form.get("kind") or ""), language=str(form.get("language") or "")))
    except UpstreamError as exc:
        raise_if_signed_out(request, exc)
        return _back(customer_id, request, N_("Survey not sent: %(reason)s"), reason=problem_text(exc, caller.locale))
    return _back(customer_id, request, N_("Survey sent."))


# -- the public answer page ------------------------------------------------------------------------------

def _survey_page(request: Request, token: str, survey: Any, *, state: str, error: str = "",
                 status_code: int = 200) -> Response:
    # The survey's language; an unknown link has none: the visitor's then.
    language: Locale | None = "en" if survey.language == "en" else "zh-CN" if survey.language else None
    scale = list(range(1, 6)) if survey.kind == "csat" else list(range(0, 11))
    return render(request, "survey_answer.html", {"token": token, "kind": survey.kind, "state": state,
                                                  "scale": scale, "error": error}, status_code=status_code,
                  locale=language)


@router.get("/survey/{token}")
async def survey_page(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    survey = await caller.call(services.feedback.GetPublicSurvey, pb.PublicSurveyRequest(token=token))
    return _survey_page(request, token, survey, state=survey.state,
                        status_code=200 if survey.state in ("open", "answered") else 410)


@router.post("/survey/{token}")
async def answer_survey(request: Request, token: str, caller: AnonymousDep, services: BackendsDep) -> Response:
    form = await request.form()
    survey = await caller.call(services.feedback.GetPublicSurvey, pb.PublicSurveyRequest(token=token))
    raw = str(form.get("score") or "")
    if survey.state != "open":
        return _survey_page(request, token, survey, state=survey.state, status_code=410)
    if not raw.isdigit():
        language: Locale = "en" if survey.language == "en" else "zh-CN"
        return _survey_page(request, token, survey, state="open", status_code=400,
                            error=messages(language).gettext("Choose a score."))
    try:
        await caller.call(services.feedback.AnswerSurvey, pb.AnswerSurveyRequest(
            token=token, score=int(raw), comment=str(form.get("comment") or "")))
    except UpstreamError as exc:
        if exc.error.code == "survey_closed":
            return _survey_page(request, token, survey, state=str(exc.error.extra.get("state", "invalid")),
                                status_code=410)
        if exc.error.status != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        language = "en" if survey.language == "en" else "zh-CN"
        return _survey_page(request, token, survey, state="open", status_code=400,
                            error=problem_text(exc, language))
    return _survey_page(request, token, survey, state="thanks")
