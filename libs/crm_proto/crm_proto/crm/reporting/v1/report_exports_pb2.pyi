import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.customers.v1 import segments_pb2 as _segments_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportExport(_message.Message):
    __slots__ = ("id", "report_id", "status", "format", "rows_done", "file_name", "size_bytes", "error", "created_at", "finished_at", "expires_at", "progress_done")
    ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ROWS_DONE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_DONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    report_id: str
    status: str
    format: str
    rows_done: int
    file_name: str
    size_bytes: int
    error: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    progress_done: int
    def __init__(self, id: _Optional[str] = ..., report_id: _Optional[str] = ..., status: _Optional[str] = ..., format: _Optional[str] = ..., rows_done: _Optional[int] = ..., file_name: _Optional[str] = ..., size_bytes: _Optional[int] = ..., error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., progress_done: _Optional[int] = ...) -> None: ...

class CreateReportExportRequest(_message.Message):
    __slots__ = ("report_id", "format", "locale", "time_zone", "view_filters", "segment_definition")
    class ViewFiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    VIEW_FILTERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    format: str
    locale: str
    time_zone: str
    view_filters: _containers.ScalarMap[str, str]
    segment_definition: _segments_pb2.SegmentDefinition
    def __init__(self, report_id: _Optional[str] = ..., format: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., view_filters: _Optional[_Mapping[str, str]] = ..., segment_definition: _Optional[_Union[_segments_pb2.SegmentDefinition, _Mapping]] = ...) -> None: ...

class GetReportExportRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ReadReportExportFileRequest(_message.Message):
    __slots__ = ("id", "part")
    ID_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    id: str
    part: int
    def __init__(self, id: _Optional[str] = ..., part: _Optional[int] = ...) -> None: ...

class ReportExportFilePart(_message.Message):
    __slots__ = ("data", "content_type", "file_name", "last", "next_part")
    DATA_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    NEXT_PART_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    content_type: str
    file_name: str
    last: bool
    next_part: int
    def __init__(self, data: _Optional[bytes] = ..., content_type: _Optional[str] = ..., file_name: _Optional[str] = ..., last: _Optional[bool] = ..., next_part: _Optional[int] = ...) -> None: ...
