import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerImport(_message.Message):
    __slots__ = ("id", "status", "phase", "filename", "format", "encoding", "size_bytes", "header", "mapping", "duplicate_mode", "total_rows", "processed", "error_rows", "duplicate_rows", "created", "updated", "skipped", "error", "created_by", "created_at", "finished_at", "undo_until", "undone_at", "missing", "cursor")
    class MappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_MODE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_FIELD_NUMBER: _ClassVar[int]
    ERROR_ROWS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_ROWS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    UNDO_UNTIL_FIELD_NUMBER: _ClassVar[int]
    UNDONE_AT_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    phase: str
    filename: str
    format: str
    encoding: str
    size_bytes: int
    header: _containers.RepeatedScalarFieldContainer[str]
    mapping: _containers.ScalarMap[str, str]
    duplicate_mode: str
    total_rows: int
    processed: int
    error_rows: int
    duplicate_rows: int
    created: int
    updated: int
    skipped: int
    error: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    undo_until: _timestamp_pb2.Timestamp
    undone_at: _timestamp_pb2.Timestamp
    missing: _containers.RepeatedScalarFieldContainer[str]
    cursor: int
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., phase: _Optional[str] = ..., filename: _Optional[str] = ..., format: _Optional[str] = ..., encoding: _Optional[str] = ..., size_bytes: _Optional[int] = ..., header: _Optional[_Iterable[str]] = ..., mapping: _Optional[_Mapping[str, str]] = ..., duplicate_mode: _Optional[str] = ..., total_rows: _Optional[int] = ..., processed: _Optional[int] = ..., error_rows: _Optional[int] = ..., duplicate_rows: _Optional[int] = ..., created: _Optional[int] = ..., updated: _Optional[int] = ..., skipped: _Optional[int] = ..., error: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undo_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undone_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., missing: _Optional[_Iterable[str]] = ..., cursor: _Optional[int] = ...) -> None: ...

class GetCustomerImportTemplateRequest(_message.Message):
    __slots__ = ("format", "locale")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    format: str
    locale: str
    def __init__(self, format: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...

class CustomerImportFile(_message.Message):
    __slots__ = ("filename", "content_type", "content")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content_type: str
    content: bytes
    def __init__(self, filename: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...

class CreateCustomerImportRequest(_message.Message):
    __slots__ = ("filename", "size_bytes")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    filename: str
    size_bytes: int
    def __init__(self, filename: _Optional[str] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class AppendCustomerImportPartRequest(_message.Message):
    __slots__ = ("id", "seq", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: str
    seq: int
    data: bytes
    def __init__(self, id: _Optional[str] = ..., seq: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class FinishCustomerImportUploadRequest(_message.Message):
    __slots__ = ("id", "mapping", "duplicate_mode")
    class MappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_MODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    mapping: _containers.ScalarMap[str, str]
    duplicate_mode: str
    def __init__(self, id: _Optional[str] = ..., mapping: _Optional[_Mapping[str, str]] = ..., duplicate_mode: _Optional[str] = ...) -> None: ...

class SetCustomerImportMappingRequest(_message.Message):
    __slots__ = ("id", "mapping", "duplicate_mode")
    class MappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MAPPING_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_MODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    mapping: _containers.ScalarMap[str, str]
    duplicate_mode: str
    def __init__(self, id: _Optional[str] = ..., mapping: _Optional[_Mapping[str, str]] = ..., duplicate_mode: _Optional[str] = ...) -> None: ...

class CustomerImportAction(_message.Message):
    __slots__ = ("id", "duplicate_mode")
    ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_MODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    duplicate_mode: str
    def __init__(self, id: _Optional[str] = ..., duplicate_mode: _Optional[str] = ...) -> None: ...

class GetCustomerImportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListCustomerImportsRequest(_message.Message):
    __slots__ = ("page_size",)
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    def __init__(self, page_size: _Optional[int] = ...) -> None: ...

class ListCustomerImportsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CustomerImport]
    def __init__(self, items: _Optional[_Iterable[_Union[CustomerImport, _Mapping]]] = ...) -> None: ...

class ListCustomerImportProblemsRequest(_message.Message):
    __slots__ = ("id", "page_size", "page_token")
    ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    page_size: int
    page_token: str
    def __init__(self, id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class CustomerImportProblem(_message.Message):
    __slots__ = ("row", "field", "column", "code", "level", "detail")
    ROW_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    row: int
    field: str
    column: str
    code: str
    level: str
    detail: str
    def __init__(self, row: _Optional[int] = ..., field: _Optional[str] = ..., column: _Optional[str] = ..., code: _Optional[str] = ..., level: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ListCustomerImportProblemsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CustomerImportProblem]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[CustomerImportProblem, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetCustomerImportErrorFileRequest(_message.Message):
    __slots__ = ("id", "messages", "error_header")
    class MessagesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    ERROR_HEADER_FIELD_NUMBER: _ClassVar[int]
    id: str
    messages: _containers.ScalarMap[str, str]
    error_header: str
    def __init__(self, id: _Optional[str] = ..., messages: _Optional[_Mapping[str, str]] = ..., error_header: _Optional[str] = ...) -> None: ...
