import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.customers.v1 import customers_pb2 as _customers_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MergeCustomersRequest(_message.Message):
    __slots__ = ("survivor_id", "merged_ids", "values", "expected_version")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SURVIVOR_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_IDS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    survivor_id: str
    merged_ids: _containers.RepeatedScalarFieldContainer[str]
    values: _containers.ScalarMap[str, str]
    expected_version: int
    def __init__(self, survivor_id: _Optional[str] = ..., merged_ids: _Optional[_Iterable[str]] = ..., values: _Optional[_Mapping[str, str]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class Merge(_message.Message):
    __slots__ = ("id", "survivor_id", "merged_ids", "values", "changed_fields", "merged_by", "merged_at", "expires_at", "undone_at", "undone_by", "undoable", "survivor", "survivor_name", "survivor_code")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_IDS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    MERGED_BY_FIELD_NUMBER: _ClassVar[int]
    MERGED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    UNDONE_AT_FIELD_NUMBER: _ClassVar[int]
    UNDONE_BY_FIELD_NUMBER: _ClassVar[int]
    UNDOABLE_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_NAME_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_CODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    survivor_id: str
    merged_ids: _containers.RepeatedScalarFieldContainer[str]
    values: _containers.ScalarMap[str, str]
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    merged_by: str
    merged_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    undone_at: _timestamp_pb2.Timestamp
    undone_by: str
    undoable: bool
    survivor: _customers_pb2.Customer
    survivor_name: str
    survivor_code: str
    def __init__(self, id: _Optional[str] = ..., survivor_id: _Optional[str] = ..., merged_ids: _Optional[_Iterable[str]] = ..., values: _Optional[_Mapping[str, str]] = ..., changed_fields: _Optional[_Iterable[str]] = ..., merged_by: _Optional[str] = ..., merged_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undone_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undone_by: _Optional[str] = ..., undoable: _Optional[bool] = ..., survivor: _Optional[_Union[_customers_pb2.Customer, _Mapping]] = ..., survivor_name: _Optional[str] = ..., survivor_code: _Optional[str] = ...) -> None: ...

class UndoMergeRequest(_message.Message):
    __slots__ = ("id", "force")
    ID_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    force: bool
    def __init__(self, id: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class GetMergeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListMergesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "survivor_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    survivor_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., survivor_id: _Optional[str] = ...) -> None: ...

class ListMergesResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Merge]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Merge, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
