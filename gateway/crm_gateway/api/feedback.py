"""/v1/feedback and /v1/surveys (followups). Data scope is the customer's (docs/followups.md,
"Feedback"): feedback or a survey of a customer outside the caller's scope is a 404 like a missing one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Multiline,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_gateway.api.followup_tasks import _timestamp
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import feedback_pb2 as pb

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])
surveys = APIRouter(prefix="/v1/surveys", tags=["feedback"])


class Feedback(Resource):
    id: str
    customer_id: str
    channel: str = Field(description="survey, phone, online_review or email")
    category: str = Field(description="A code of the tenant's feedback_category dictionary")
    rating: int | None = Field(description="1-5; null when not given")
    nps_score: int | None = Field(description="0-10 for an NPS survey's answer; null otherwise")
    text: str
    sentiment: str = Field(description="positive, neutral or negative; empty without text")
    sentiment_score: float = Field(description="-1 (most negative) .. 1 (most positive)")
    language: str = Field(description="zh or en: which model scored the text")
    received_at: datetime | None
    survey_id: str
    survey_kind: str = Field(description="csat or nps for a survey's answer")
    created_by: str
    created_at: datetime | None


def feedback_out(message: Any) -> Feedback:
    return Feedback(
        id=message.id, customer_id=message.customer_id, channel=message.channel, category=message.category,
        rating=message.rating or None, nps_score=None if message.nps_score < 0 else message.nps_score,
        text=message.text, sentiment=message.sentiment, sentiment_score=message.sentiment_score,
        language=message.language, received_at=timestamp(message.received_at), survey_id=message.survey_id,
        survey_kind=message.survey_kind, created_by=message.created_by, created_at=timestamp(message.created_at),
    )


class FeedbackCreate(RequestBody):
    customer_id: str
    channel: Literal["survey", "phone", "online_review", "email"]
    category: str = Field(description="A code of the feedback_category dictionary")
    rating: int | None = Field(None, ge=1, le=5, description="1-5")
    text: Multiline = Field("", description="What the customer said (up to 10,000 characters)")
    received_at: AwareDatetime | None = Field(None, description="When it was given (default now)")
    nps_score: int | None = Field(None, ge=0, le=10,
                                  description="0-10: an NPS answer collected elsewhere (channel survey only)")


class FeedbackBatch(RequestBody):
    items: list[FeedbackCreate] = Field(min_length=1, max_length=500)


class FeedbackBatchResult(Resource):
    ids: list[str] = Field(description="The created feedback, in the order of the items")


def _create_request(body: FeedbackCreate) -> pb.CreateFeedbackRequest:
    return pb.CreateFeedbackRequest(
        customer_id=body.customer_id, channel=body.channel, category=body.category, rating=body.rating or 0,
        text=body.text, received_at=_timestamp(body.received_at), nps_score=body.nps_score)


class FeedbackQuery(PageQuery):
    customer_id: str = Field("", description="Only this customer's feedback")
    channel: Literal["", "survey", "phone", "online_review", "email"] = ""
    category: str = ""
    sentiment: Literal["", "positive", "neutral", "negative"] = ""
    rating: int = Field(0, ge=0, le=5, description="Only this rating (0: any)")


@router.get(
    "",
    response_model=Page[Feedback],
    **operation(operation_id="listFeedback", summary="List customer feedback", scopes=[Scope.FOLLOWUPS_READ],
                errors=[400], description="Feedback of customers in your data scope, newest first."),
)
async def list_feedback(query: Annotated[FeedbackQuery, Query()], caller: CallerDep,
                        services: BackendsDep) -> Page[Feedback]:
    reply = await caller.call(services.feedback.ListFeedback, pb.ListFeedbackRequest(
        customer_id=query.customer_id, channel=query.channel, category=query.category, sentiment=query.sentiment,
        rating=query.rating, page_size=query.size, page_token=query.page_token))
    return page([feedback_out(r) for r in reply.items], reply.next_page_token)


@router.post(
    "",
    response_model=Feedback,
    **operation(operation_id="createFeedback", summary="Log customer feedback", scopes=[Scope.FOLLOWUPS_WRITE],
                errors=[*WRITE_ERRORS, 404], status_code=201,
                description="Sentiment is computed from the text (SnowNLP for Chinese, VADER for English). "
                            "Emits `crm.feedback.created`."),
)
async def create_feedback(body: FeedbackCreate, response: Response, caller: CallerDep,
                          services: BackendsDep) -> Feedback:
    reply = await caller.call(services.feedback.CreateFeedback, _create_request(body))
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return feedback_out(reply)


@router.post(
    ":batch-create",
    response_model=FeedbackBatchResult,
    **operation(operation_id="createFeedbackBatch", summary="Log up to 500 pieces of feedback at once",
                scopes=[Scope.FOLLOWUPS_WRITE], errors=[*WRITE_ERRORS, 404], status_code=201,
                description="All or none: errors name `items[i].<field>`; every customer must be one you may see "
                            "(404 otherwise). Emits `crm.feedback.created` for each."),
)
async def create_feedback_batch(body: FeedbackBatch, caller: CallerDep, services: BackendsDep) -> FeedbackBatchResult:
    reply = await caller.call(services.feedback.CreateFeedbackBatch, pb.CreateFeedbackBatchRequest(
        items=[_create_request(item) for item in body.items]))
    return FeedbackBatchResult(ids=list(reply.ids))


@router.get(
    "/{feedback_id}",
    response_model=Feedback,
    **operation(operation_id="getFeedback", summary="Get customer feedback", scopes=[Scope.FOLLOWUPS_READ],
                errors=[400, 404]),
)
async def get_feedback(feedback_id: str, caller: CallerDep, services: BackendsDep) -> Feedback:
    return feedback_out(await caller.call(services.feedback.GetFeedback, pb.GetFeedbackRequest(id=feedback_id)))


class Survey(Resource):
    id: str
    customer_id: str
    kind: str = Field(description="csat (1-5) or nps (0-10)")
    language: str = Field(description="zh-CN or en")
    email: str = Field(description="Where it was sent (as your field policy for email shows it)")
    status: str = Field(description="sent, answered or expired")
    sent_by: str
    sent_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None
    feedback_id: str = Field(description="The feedback the answer became")


def survey_out(message: Any) -> Survey:
    return Survey(
        id=message.id, customer_id=message.customer_id, kind=message.kind, language=message.language,
        email=message.email, status=message.status, sent_by=message.sent_by, sent_at=timestamp(message.sent_at),
        expires_at=timestamp(message.expires_at),
        answered_at=timestamp(message.answered_at) if message.HasField("answered_at") else None,
        feedback_id=message.feedback_id,
    )


class SurveySend(RequestBody):
    customer_id: str
    kind: Literal["csat", "nps"]
    language: Literal["zh-CN", "en"] = "zh-CN"


class SurveyQuery(PageQuery):
    customer_id: str = ""
    status: Literal["", "sent", "answered", "expired"] = ""


@surveys.post(
    "",
    response_model=Survey,
    **operation(operation_id="sendSurvey", summary="Send a satisfaction survey", scopes=[Scope.FOLLOWUPS_WRITE],
                errors=[*WRITE_ERRORS, 404], status_code=201,
                description="Mails a CSAT or NPS survey with a one-time link (14 days) to the customer's email. "
                            "400 `no_email` when the customer has no email you may see."),
)
async def send_survey(body: SurveySend, response: Response, caller: CallerDep, services: BackendsDep) -> Survey:
    reply = await caller.call(services.feedback.SendSurvey, pb.SendSurveyRequest(
        customer_id=body.customer_id, kind=body.kind, language=body.language))
    response.headers["Location"] = f"{surveys.prefix}/{reply.id}"
    return survey_out(reply)


@surveys.get(
    "",
    response_model=Page[Survey],
    **operation(operation_id="listSurveys", summary="List surveys", scopes=[Scope.FOLLOWUPS_READ], errors=[400],
                description="Surveys of customers in your data scope, newest first."),
)
async def list_surveys(query: Annotated[SurveyQuery, Query()], caller: CallerDep,
                       services: BackendsDep) -> Page[Survey]:
    reply = await caller.call(services.feedback.ListSurveys, pb.ListSurveysRequest(
        customer_id=query.customer_id, status=query.status, page_size=query.size, page_token=query.page_token))
    return page([survey_out(r) for r in reply.items], reply.next_page_token)


@surveys.get(
    "/{survey_id}",
    response_model=Survey,
    **operation(operation_id="getSurvey", summary="Get a survey and its status", scopes=[Scope.FOLLOWUPS_READ],
                errors=[400, 404]),
)
async def get_survey(survey_id: str, caller: CallerDep, services: BackendsDep) -> Survey:
    return survey_out(await caller.call(services.feedback.GetSurvey, pb.GetSurveyRequest(id=survey_id)))
