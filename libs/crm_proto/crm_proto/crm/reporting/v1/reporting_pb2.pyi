from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCustomersByIndustryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IndustryCount(_message.Message):
    __slots__ = ("industry", "customers")
    INDUSTRY_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    industry: str
    customers: int
    def __init__(self, industry: _Optional[str] = ..., customers: _Optional[int] = ...) -> None: ...

class GetCustomersByIndustryResponse(_message.Message):
    __slots__ = ("rows", "total")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[IndustryCount]
    total: int
    def __init__(self, rows: _Optional[_Iterable[_Union[IndustryCount, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...
