from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ValueSegmentChange(_message.Message):
    __slots__ = ("customer_id", "segment", "previous_segment", "version", "reason_en", "reason_zh")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SEGMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_EN_FIELD_NUMBER: _ClassVar[int]
    REASON_ZH_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    segment: str
    previous_segment: str
    version: int
    reason_en: str
    reason_zh: str
    def __init__(self, customer_id: _Optional[str] = ..., segment: _Optional[str] = ..., previous_segment: _Optional[str] = ..., version: _Optional[int] = ..., reason_en: _Optional[str] = ..., reason_zh: _Optional[str] = ...) -> None: ...

class ValueSegmentsChanged(_message.Message):
    __slots__ = ("changes", "trigger", "currency")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[ValueSegmentChange]
    trigger: str
    currency: str
    def __init__(self, changes: _Optional[_Iterable[_Union[ValueSegmentChange, _Mapping]]] = ..., trigger: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...
