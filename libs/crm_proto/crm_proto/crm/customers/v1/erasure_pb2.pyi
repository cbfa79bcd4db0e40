import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EraseCustomerRequest(_message.Message):
    __slots__ = ("id", "confirm", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    confirm: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., confirm: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CustomerErasure(_message.Message):
    __slots__ = ("customer_id", "erased_at", "erased_by", "reason")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    ERASED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    erased_at: _timestamp_pb2.Timestamp
    erased_by: str
    reason: str
    def __init__(self, customer_id: _Optional[str] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., erased_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
