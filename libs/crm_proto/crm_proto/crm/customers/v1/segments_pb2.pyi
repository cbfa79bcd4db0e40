import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SegmentDefinition(_message.Message):
    __slots__ = ("all_tags", "any_tags", "none_tags", "filters", "spend_12m_min", "spend_12m_max", "spend_currency", "orders_30d_min", "orders_30d_max", "value_segments")
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ALL_TAGS_FIELD_NUMBER: _ClassVar[int]
    ANY_TAGS_FIELD_NUMBER: _ClassVar[int]
    NONE_TAGS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    SPEND_12M_MIN_FIELD_NUMBER: _ClassVar[int]
    SPEND_12M_MAX_FIELD_NUMBER: _ClassVar[int]
    SPEND_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDERS_30D_MIN_FIELD_NUMBER: _ClassVar[int]
    ORDERS_30D_MAX_FIELD_NUMBER: _ClassVar[int]
    VALUE_SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    all_tags: _containers.RepeatedScalarFieldContainer[str]
    any_tags: _containers.RepeatedScalarFieldContainer[str]
    none_tags: _containers.RepeatedScalarFieldContainer[str]
    filters: _containers.ScalarMap[str, str]
    spend_12m_min: str
    spend_12m_max: str
    spend_currency: str
    orders_30d_min: str
    orders_30d_max: str
    value_segments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, all_tags: _Optional[_Iterable[str]] = ..., any_tags: _Optional[_Iterable[str]] = ..., none_tags: _Optional[_Iterable[str]] = ..., filters: _Optional[_Mapping[str, str]] = ..., spend_12m_min: _Optional[str] = ..., spend_12m_max: _Optional[str] = ..., spend_currency: _Optional[str] = ..., orders_30d_min: _Optional[str] = ..., orders_30d_max: _Optional[str] = ..., value_segments: _Optional[_Iterable[str]] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("id", "name", "description", "visibility", "owner", "definition", "version", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    visibility: str
    owner: str
    definition: SegmentDefinition
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., visibility: _Optional[str] = ..., owner: _Optional[str] = ..., definition: _Optional[_Union[SegmentDefinition, _Mapping]] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SegmentInput(_message.Message):
    __slots__ = ("name", "description", "visibility", "definition_set", "definition")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_SET_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    visibility: str
    definition_set: bool
    definition: SegmentDefinition
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., visibility: _Optional[str] = ..., definition_set: _Optional[bool] = ..., definition: _Optional[_Union[SegmentDefinition, _Mapping]] = ...) -> None: ...

class ListSegmentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSegmentsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Segment]
    def __init__(self, items: _Optional[_Iterable[_Union[Segment, _Mapping]]] = ...) -> None: ...

class GetSegmentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CreateSegmentRequest(_message.Message):
    __slots__ = ("segment",)
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    segment: SegmentInput
    def __init__(self, segment: _Optional[_Union[SegmentInput, _Mapping]] = ...) -> None: ...

class UpdateSegmentRequest(_message.Message):
    __slots__ = ("id", "segment", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    segment: SegmentInput
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., segment: _Optional[_Union[SegmentInput, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteSegmentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CountSegmentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class PreviewSegmentRequest(_message.Message):
    __slots__ = ("definition", "sample_size")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    definition: SegmentDefinition
    sample_size: int
    def __init__(self, definition: _Optional[_Union[SegmentDefinition, _Mapping]] = ..., sample_size: _Optional[int] = ...) -> None: ...

class SegmentSample(_message.Message):
    __slots__ = ("id", "name", "code")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    code: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., code: _Optional[str] = ...) -> None: ...

class SegmentCount(_message.Message):
    __slots__ = ("count", "sample")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    count: int
    sample: _containers.RepeatedCompositeFieldContainer[SegmentSample]
    def __init__(self, count: _Optional[int] = ..., sample: _Optional[_Iterable[_Union[SegmentSample, _Mapping]]] = ...) -> None: ...
