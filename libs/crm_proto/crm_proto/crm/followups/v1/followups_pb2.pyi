import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Notification(_message.Message):
    __slots__ = ("id", "kind", "task_id", "customer_id", "title", "due_at", "created_at", "read_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    READ_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    task_id: str
    customer_id: str
    title: str
    due_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    read_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., task_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., title: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., read_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListNotificationsRequest(_message.Message):
    __slots__ = ("unread_only", "page_size", "page_token")
    UNREAD_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    unread_only: bool
    page_size: int
    page_token: str
    def __init__(self, unread_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNotificationsResponse(_message.Message):
    __slots__ = ("items", "next_page_token", "unread_count")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Notification]
    next_page_token: str
    unread_count: int
    def __init__(self, items: _Optional[_Iterable[_Union[Notification, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., unread_count: _Optional[int] = ...) -> None: ...

class MarkNotificationsReadRequest(_message.Message):
    __slots__ = ("ids", "all")
    IDS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    def __init__(self, ids: _Optional[_Iterable[str]] = ..., all: _Optional[bool] = ...) -> None: ...

class MarkNotificationsReadResponse(_message.Message):
    __slots__ = ("marked", "unread_count")
    MARKED_FIELD_NUMBER: _ClassVar[int]
    UNREAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    marked: int
    unread_count: int
    def __init__(self, marked: _Optional[int] = ..., unread_count: _Optional[int] = ...) -> None: ...

class GetNotificationPreferencesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NotificationPreferences(_message.Message):
    __slots__ = ("in_app", "email", "digest")
    IN_APP_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    in_app: bool
    email: bool
    digest: bool
    def __init__(self, in_app: _Optional[bool] = ..., email: _Optional[bool] = ..., digest: _Optional[bool] = ...) -> None: ...

class Record(_message.Message):
    __slots__ = ("id", "number", "customer_id", "followed_at", "method", "content", "result", "next_followup_at", "followed_by", "task_id", "next_task_id", "created_at", "created_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOWED_AT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FOLLOWUP_AT_FIELD_NUMBER: _ClassVar[int]
    FOLLOWED_BY_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    NEXT_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    customer_id: str
    followed_at: _timestamp_pb2.Timestamp
    method: str
    content: str
    result: str
    next_followup_at: _timestamp_pb2.Timestamp
    followed_by: str
    task_id: str
    next_task_id: str
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., customer_id: _Optional[str] = ..., followed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., method: _Optional[str] = ..., content: _Optional[str] = ..., result: _Optional[str] = ..., next_followup_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., followed_by: _Optional[str] = ..., task_id: _Optional[str] = ..., next_task_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ...) -> None: ...

class CreateRecordRequest(_message.Message):
    __slots__ = ("customer_id", "followed_at", "method", "content", "result", "next_followup_at", "next_method", "next_action", "next_assignee_id", "task_id", "followed_by")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOWED_AT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FOLLOWUP_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_METHOD_FIELD_NUMBER: _ClassVar[int]
    NEXT_ACTION_FIELD_NUMBER: _ClassVar[int]
    NEXT_ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOWED_BY_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    followed_at: _timestamp_pb2.Timestamp
    method: str
    content: str
    result: str
    next_followup_at: _timestamp_pb2.Timestamp
    next_method: str
    next_action: str
    next_assignee_id: str
    task_id: str
    followed_by: str
    def __init__(self, customer_id: _Optional[str] = ..., followed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., method: _Optional[str] = ..., content: _Optional[str] = ..., result: _Optional[str] = ..., next_followup_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., next_method: _Optional[str] = ..., next_action: _Optional[str] = ..., next_assignee_id: _Optional[str] = ..., task_id: _Optional[str] = ..., followed_by: _Optional[str] = ...) -> None: ...

class ListRecordsRequest(_message.Message):
    __slots__ = ("customer_id", "followed_by", "since", "until", "page_size", "page_token")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOWED_BY_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    followed_by: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, customer_id: _Optional[str] = ..., followed_by: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRecordsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Record]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Record, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DictionaryEntry(_message.Message):
    __slots__ = ("code", "label_en", "label_zh")
    CODE_FIELD_NUMBER: _ClassVar[int]
    LABEL_EN_FIELD_NUMBER: _ClassVar[int]
    LABEL_ZH_FIELD_NUMBER: _ClassVar[int]
    code: str
    label_en: str
    label_zh: str
    def __init__(self, code: _Optional[str] = ..., label_en: _Optional[str] = ..., label_zh: _Optional[str] = ...) -> None: ...

class Dictionary(_message.Message):
    __slots__ = ("name", "entries")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    entries: _containers.RepeatedCompositeFieldContainer[DictionaryEntry]
    def __init__(self, name: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[DictionaryEntry, _Mapping]]] = ...) -> None: ...

class GetDictionaryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ReplaceDictionaryRequest(_message.Message):
    __slots__ = ("name", "entries")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    entries: _containers.RepeatedCompositeFieldContainer[DictionaryEntry]
    def __init__(self, name: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[DictionaryEntry, _Mapping]]] = ...) -> None: ...

class UpdateTaskRequest(_message.Message):
    __slots__ = ("id", "due_at", "change_assignee", "assignee_id", "change_content", "content", "change_method", "method")
    ID_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_METHOD_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    id: str
    due_at: _timestamp_pb2.Timestamp
    change_assignee: bool
    assignee_id: str
    change_content: bool
    content: str
    change_method: bool
    method: str
    def __init__(self, id: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., change_assignee: _Optional[bool] = ..., assignee_id: _Optional[str] = ..., change_content: _Optional[bool] = ..., content: _Optional[str] = ..., change_method: _Optional[bool] = ..., method: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "customer_id", "title", "due_at", "status", "assignee_id", "cadence_rule_id", "created_at", "created_by", "method", "content", "completed_at", "record_id", "overdue", "source_record_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    CADENCE_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    title: str
    due_at: _timestamp_pb2.Timestamp
    status: str
    assignee_id: str
    cadence_rule_id: str
    created_at: _timestamp_pb2.Timestamp
    created_by: str
    method: str
    content: str
    completed_at: _timestamp_pb2.Timestamp
    record_id: str
    overdue: bool
    source_record_id: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., title: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[str] = ..., assignee_id: _Optional[str] = ..., cadence_rule_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., method: _Optional[str] = ..., content: _Optional[str] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., record_id: _Optional[str] = ..., overdue: _Optional[bool] = ..., source_record_id: _Optional[str] = ...) -> None: ...

class CadenceRule(_message.Message):
    __slots__ = ("id", "tag_id", "due_in_days", "title", "created_at", "rrule", "time_zone", "enabled", "escalate_after_days", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_IN_DAYS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RRULE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    ESCALATE_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tag_id: str
    due_in_days: int
    title: str
    created_at: _timestamp_pb2.Timestamp
    rrule: str
    time_zone: str
    enabled: bool
    escalate_after_days: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tag_id: _Optional[str] = ..., due_in_days: _Optional[int] = ..., title: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rrule: _Optional[str] = ..., time_zone: _Optional[str] = ..., enabled: _Optional[bool] = ..., escalate_after_days: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTaskRequest(_message.Message):
    __slots__ = ("customer_id", "title", "due_at", "assignee_id", "method", "content")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    title: str
    due_at: _timestamp_pb2.Timestamp
    assignee_id: str
    method: str
    content: str
    def __init__(self, customer_id: _Optional[str] = ..., title: _Optional[str] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., assignee_id: _Optional[str] = ..., method: _Optional[str] = ..., content: _Optional[str] = ...) -> None: ...

class CompleteTaskRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("customer_id", "page_size", "page_token", "assignee_id", "status", "due_after", "due_before", "overdue")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DUE_AFTER_FIELD_NUMBER: _ClassVar[int]
    DUE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    page_size: int
    page_token: str
    assignee_id: str
    status: str
    due_after: _timestamp_pb2.Timestamp
    due_before: _timestamp_pb2.Timestamp
    overdue: bool
    def __init__(self, customer_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., assignee_id: _Optional[str] = ..., status: _Optional[str] = ..., due_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overdue: _Optional[bool] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Task]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateCadenceRuleRequest(_message.Message):
    __slots__ = ("tag_id", "due_in_days", "title", "rrule", "time_zone", "escalate_after_days", "disabled")
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_IN_DAYS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    RRULE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ESCALATE_AFTER_DAYS_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    tag_id: str
    due_in_days: int
    title: str
    rrule: str
    time_zone: str
    escalate_after_days: int
    disabled: bool
    def __init__(self, tag_id: _Optional[str] = ..., due_in_days: _Optional[int] = ..., title: _Optional[str] = ..., rrule: _Optional[str] = ..., time_zone: _Optional[str] = ..., escalate_after_days: _Optional[int] = ..., disabled: _Optional[bool] = ...) -> None: ...

class ListCadenceRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCadenceRulesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CadenceRule]
    def __init__(self, items: _Optional[_Iterable[_Union[CadenceRule, _Mapping]]] = ...) -> None: ...
