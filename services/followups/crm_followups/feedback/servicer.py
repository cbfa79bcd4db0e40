"""gRPC transport for feedback and surveys: translation only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_followups.feedback.schemas import feedback_to_proto, survey_to_proto
from crm_followups.feedback.service import FeedbackService, NewFeedback
from crm_followups.surveys.service import PublicView, SurveyService
from crm_followups.task.schemas import sent_datetime
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.followups.v1 import feedback_pb2 as pb
from crm_proto.crm.followups.v1 import feedback_pb2_grpc

SERVICE_NAME: Final = "crm.followups.v1.FeedbackService"
# The answer page is reached by a link in an email: its token is the only credential.
PUBLIC_METHODS: Final = frozenset(f"/{SERVICE_NAME}/{m}" for m in ("GetPublicSurvey", "AnswerSurvey"))


def _new(request: pb.CreateFeedbackRequest) -> NewFeedback:
    return NewFeedback(
        customer_id=request.customer_id, channel=request.channel, category=request.category, rating=request.rating,
        text=request.text, received_at=sent_datetime(request, "received_at"),
        nps_score=request.nps_score if request.HasField("nps_score") else None)


def _public(view: PublicView) -> pb.PublicSurvey:
    return pb.PublicSurvey(state=view.state, kind=view.kind, language=view.language)


class FeedbackServicer(feedback_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, engine: AsyncEngine, feedback: FeedbackService, surveys: SurveyService):
        self.engine = engine
        self.feedback = feedback
        self.surveys = surveys

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def CreateFeedback(self, request: pb.CreateFeedbackRequest, call: Call) -> pb.Feedback:
        return feedback_to_proto(await self.feedback.create(call.session, call.principal, _new(request)))

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def CreateFeedbackBatch(self, request: pb.CreateFeedbackBatchRequest,
                                  call: Call) -> pb.CreateFeedbackBatchResponse:
        ids = await self.feedback.create_many(call.session, call.principal, [_new(item) for item in request.items])
        return pb.CreateFeedbackBatchResponse(ids=ids)

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetFeedback(self, request: pb.GetFeedbackRequest, call: Call) -> pb.Feedback:
        return feedback_to_proto(await self.feedback.get(call.session, call.principal, request.id))

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListFeedback(self, request: pb.ListFeedbackRequest, call: Call) -> pb.ListFeedbackResponse:
        rows, next_token = await self.feedback.list_page(
            call.session, call.principal, customer_id=request.customer_id, channel=request.channel,
            category=request.category, sentiment_label=request.sentiment, rating=request.rating,
            size=request.page_size, token=request.page_token)
        return pb.ListFeedbackResponse(items=[feedback_to_proto(r) for r in rows], next_page_token=next_token)

    @rpc(Scope.FOLLOWUPS_WRITE)
    async def SendSurvey(self, request: pb.SendSurveyRequest, call: Call) -> pb.Survey:
        row = await self.surveys.send(call.session, call.principal, customer_id=request.customer_id,
                                      kind=request.kind, language=request.language)
        return survey_to_proto(row, call.principal, datetime.now(UTC))

    @rpc(Scope.FOLLOWUPS_READ)
    async def GetSurvey(self, request: pb.GetSurveyRequest, call: Call) -> pb.Survey:
        row = await self.surveys.get(call.session, call.principal, request.id)
        return survey_to_proto(row, call.principal, datetime.now(UTC))

    @rpc(Scope.FOLLOWUPS_READ)
    async def ListSurveys(self, request: pb.ListSurveysRequest, call: Call) -> pb.ListSurveysResponse:
        rows, next_token = await self.surveys.list_page(call.session, call.principal,
                                                        customer_id=request.customer_id, status=request.status,
                                                        size=request.page_size, token=request.page_token)
        now = datetime.now(UTC)
        return pb.ListSurveysResponse(items=[survey_to_proto(r, call.principal, now) for r in rows],
                                      next_page_token=next_token)

    async def GetPublicSurvey(self, request: pb.PublicSurveyRequest,
                              context: grpc.aio.ServicerContext) -> pb.PublicSurvey:
        return _public(await self.surveys.preview(self.engine, request.token))

    async def AnswerSurvey(self, request: pb.AnswerSurveyRequest,
                           context: grpc.aio.ServicerContext) -> pb.PublicSurvey:
        return _public(await self.surveys.answer(self.engine, request.token, request.score, request.comment))
