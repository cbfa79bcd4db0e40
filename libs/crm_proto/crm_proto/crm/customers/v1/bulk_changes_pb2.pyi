import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.customers.v1 import customers_pb2 as _customers_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BulkChangeSet(_message.Message):
    __slots__ = ("owner_id", "status", "reason")
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    owner_id: str
    status: str
    reason: str
    def __init__(self, owner_id: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class BulkChangeFailure(_message.Message):
    __slots__ = ("customer_id", "code")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    code: str
    def __init__(self, customer_id: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class BulkChange(_message.Message):
    __slots__ = ("id", "status", "filter", "set", "total", "processed", "changed", "unchanged", "failed", "failures", "failures_next_page_token", "created_by", "created_at", "updated_at", "finished_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    filter: _customers_pb2.ListCustomersRequest
    set: BulkChangeSet
    total: int
    processed: int
    changed: int
    unchanged: int
    failed: int
    failures: _containers.RepeatedCompositeFieldContainer[BulkChangeFailure]
    failures_next_page_token: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., filter: _Optional[_Union[_customers_pb2.ListCustomersRequest, _Mapping]] = ..., set: _Optional[_Union[BulkChangeSet, _Mapping]] = ..., total: _Optional[int] = ..., processed: _Optional[int] = ..., changed: _Optional[int] = ..., unchanged: _Optional[int] = ..., failed: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[BulkChangeFailure, _Mapping]]] = ..., failures_next_page_token: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartBulkChangeRequest(_message.Message):
    __slots__ = ("filter", "set")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    filter: _customers_pb2.ListCustomersRequest
    set: BulkChangeSet
    def __init__(self, filter: _Optional[_Union[_customers_pb2.ListCustomersRequest, _Mapping]] = ..., set: _Optional[_Union[BulkChangeSet, _Mapping]] = ...) -> None: ...

class GetBulkChangeRequest(_message.Message):
    __slots__ = ("id", "failures_page_size", "failures_page_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    FAILURES_PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    FAILURES_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    failures_page_size: int
    failures_page_token: str
    def __init__(self, id: _Optional[str] = ..., failures_page_size: _Optional[int] = ..., failures_page_token: _Optional[str] = ...) -> None: ...

class CancelBulkChangeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CountBulkChangeTargetsRequest(_message.Message):
    __slots__ = ("filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    filter: _customers_pb2.ListCustomersRequest
    def __init__(self, filter: _Optional[_Union[_customers_pb2.ListCustomersRequest, _Mapping]] = ...) -> None: ...

class CountBulkChangeTargetsResponse(_message.Message):
    __slots__ = ("count", "more")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    count: int
    more: bool
    def __init__(self, count: _Optional[int] = ..., more: _Optional[bool] = ...) -> None: ...
