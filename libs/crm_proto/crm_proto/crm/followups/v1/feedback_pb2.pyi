import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Feedback(_message.Message):
    __slots__ = ("id", "customer_id", "channel", "category", "rating", "text", "sentiment", "sentiment_score", "language", "received_at", "created_by", "created_at", "survey_id", "survey_kind", "nps_score")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_SCORE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SURVEY_ID_FIELD_NUMBER: _ClassVar[int]
    SURVEY_KIND_FIELD_NUMBER: _ClassVar[int]
    NPS_SCORE_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    channel: str
    category: str
    rating: int
    text: str
    sentiment: str
    sentiment_score: float
    language: str
    received_at: _timestamp_pb2.Timestamp
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    survey_id: str
    survey_kind: str
    nps_score: int
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., channel: _Optional[str] = ..., category: _Optional[str] = ..., rating: _Optional[int] = ..., text: _Optional[str] = ..., sentiment: _Optional[str] = ..., sentiment_score: _Optional[float] = ..., language: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., survey_id: _Optional[str] = ..., survey_kind: _Optional[str] = ..., nps_score: _Optional[int] = ...) -> None: ...

class CreateFeedbackRequest(_message.Message):
    __slots__ = ("customer_id", "channel", "category", "rating", "text", "received_at", "nps_score")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    NPS_SCORE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    channel: str
    category: str
    rating: int
    text: str
    received_at: _timestamp_pb2.Timestamp
    nps_score: int
    def __init__(self, customer_id: _Optional[str] = ..., channel: _Optional[str] = ..., category: _Optional[str] = ..., rating: _Optional[int] = ..., text: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nps_score: _Optional[int] = ...) -> None: ...

class CreateFeedbackBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CreateFeedbackRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[CreateFeedbackRequest, _Mapping]]] = ...) -> None: ...

class CreateFeedbackBatchResponse(_message.Message):
    __slots__ = ("ids",)
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListFeedbackRequest(_message.Message):
    __slots__ = ("customer_id", "channel", "category", "sentiment", "rating", "page_size", "page_token")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    channel: str
    category: str
    sentiment: str
    rating: int
    page_size: int
    page_token: str
    def __init__(self, customer_id: _Optional[str] = ..., channel: _Optional[str] = ..., category: _Optional[str] = ..., sentiment: _Optional[str] = ..., rating: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFeedbackResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Feedback]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Feedback, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetFeedbackRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Survey(_message.Message):
    __slots__ = ("id", "customer_id", "kind", "language", "email", "status", "sent_by", "sent_at", "expires_at", "answered_at", "feedback_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SENT_BY_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_AT_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    kind: str
    language: str
    email: str
    status: str
    sent_by: str
    sent_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    answered_at: _timestamp_pb2.Timestamp
    feedback_id: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., kind: _Optional[str] = ..., language: _Optional[str] = ..., email: _Optional[str] = ..., status: _Optional[str] = ..., sent_by: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., answered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., feedback_id: _Optional[str] = ...) -> None: ...

class SendSurveyRequest(_message.Message):
    __slots__ = ("customer_id", "kind", "language")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    kind: str
    language: str
    def __init__(self, customer_id: _Optional[str] = ..., kind: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class ListSurveysRequest(_message.Message):
    __slots__ = ("customer_id", "status", "page_size", "page_token")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    status: str
    page_size: int
    page_token: str
    def __init__(self, customer_id: _Optional[str] = ..., status: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSurveysResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Survey]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Survey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetSurveyRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class PublicSurveyRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class PublicSurvey(_message.Message):
    __slots__ = ("state", "kind", "language", "company")
    STATE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    COMPANY_FIELD_NUMBER: _ClassVar[int]
    state: str
    kind: str
    language: str
    company: str
    def __init__(self, state: _Optional[str] = ..., kind: _Optional[str] = ..., language: _Optional[str] = ..., company: _Optional[str] = ...) -> None: ...

class AnswerSurveyRequest(_message.Message):
    __slots__ = ("token", "score", "comment")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    token: str
    score: int
    comment: str
    def __init__(self, token: _Optional[str] = ..., score: _Optional[int] = ..., comment: _Optional[str] = ...) -> None: ...

class FeedbackCreated(_message.Message):
    __slots__ = ("feedback",)
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    feedback: Feedback
    def __init__(self, feedback: _Optional[_Union[Feedback, _Mapping]] = ...) -> None: ...

class FeedbackMoved(_message.Message):
    __slots__ = ("feedback",)
    FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    feedback: Feedback
    def __init__(self, feedback: _Optional[_Union[Feedback, _Mapping]] = ...) -> None: ...
