import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerView(_message.Message):
    __slots__ = ("id", "name", "filters", "order_by", "columns", "version", "created_at", "updated_at")
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    filters: _containers.ScalarMap[str, str]
    order_by: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., filters: _Optional[_Mapping[str, str]] = ..., order_by: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustomerViewInput(_message.Message):
    __slots__ = ("name", "filters_set", "filters", "order_by", "columns_set", "columns")
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    FILTERS_SET_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_SET_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    name: str
    filters_set: bool
    filters: _containers.ScalarMap[str, str]
    order_by: str
    columns_set: bool
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., filters_set: _Optional[bool] = ..., filters: _Optional[_Mapping[str, str]] = ..., order_by: _Optional[str] = ..., columns_set: _Optional[bool] = ..., columns: _Optional[_Iterable[str]] = ...) -> None: ...

class ListCustomerViewsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCustomerViewsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CustomerView]
    def __init__(self, items: _Optional[_Iterable[_Union[CustomerView, _Mapping]]] = ...) -> None: ...

class GetCustomerViewRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CreateCustomerViewRequest(_message.Message):
    __slots__ = ("view",)
    VIEW_FIELD_NUMBER: _ClassVar[int]
    view: CustomerViewInput
    def __init__(self, view: _Optional[_Union[CustomerViewInput, _Mapping]] = ...) -> None: ...

class UpdateCustomerViewRequest(_message.Message):
    __slots__ = ("id", "view", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    view: CustomerViewInput
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., view: _Optional[_Union[CustomerViewInput, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteCustomerViewRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteCustomerViewResponse(_message.Message):
    __slots__ = ("view",)
    VIEW_FIELD_NUMBER: _ClassVar[int]
    view: CustomerView
    def __init__(self, view: _Optional[_Union[CustomerView, _Mapping]] = ...) -> None: ...
