import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderItem(_message.Message):
    __slots__ = ("sku", "name", "quantity", "unit_price")
    SKU_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    name: str
    quantity: str
    unit_price: str
    def __init__(self, sku: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[str] = ..., unit_price: _Optional[str] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("id", "external_id", "kind", "customer_id", "customer_code", "amount", "currency", "ordered_on", "status", "items", "version", "created_at", "updated_at", "created_by", "updated_by", "amount_hidden")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDERED_ON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_HIDDEN_FIELD_NUMBER: _ClassVar[int]
    id: str
    external_id: str
    kind: str
    customer_id: str
    customer_code: str
    amount: str
    currency: str
    ordered_on: str
    status: str
    items: _containers.RepeatedCompositeFieldContainer[OrderItem]
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    created_by: str
    updated_by: str
    amount_hidden: bool
    def __init__(self, id: _Optional[str] = ..., external_id: _Optional[str] = ..., kind: _Optional[str] = ..., customer_id: _Optional[str] = ..., customer_code: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., ordered_on: _Optional[str] = ..., status: _Optional[str] = ..., items: _Optional[_Iterable[_Union[OrderItem, _Mapping]]] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_by: _Optional[str] = ..., updated_by: _Optional[str] = ..., amount_hidden: _Optional[bool] = ...) -> None: ...

class OrderInput(_message.Message):
    __slots__ = ("external_id", "kind", "customer_id", "customer_code", "amount", "currency", "ordered_on", "status", "items")
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_CODE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDERED_ON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    external_id: str
    kind: str
    customer_id: str
    customer_code: str
    amount: str
    currency: str
    ordered_on: str
    status: str
    items: _containers.RepeatedCompositeFieldContainer[OrderItem]
    def __init__(self, external_id: _Optional[str] = ..., kind: _Optional[str] = ..., customer_id: _Optional[str] = ..., customer_code: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., ordered_on: _Optional[str] = ..., status: _Optional[str] = ..., items: _Optional[_Iterable[_Union[OrderItem, _Mapping]]] = ...) -> None: ...

class UpsertOrderRequest(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: OrderInput
    def __init__(self, order: _Optional[_Union[OrderInput, _Mapping]] = ...) -> None: ...

class UpsertOrderResponse(_message.Message):
    __slots__ = ("order", "result")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    order: Order
    result: str
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., result: _Optional[str] = ...) -> None: ...

class BatchUpsertOrdersRequest(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderInput]
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderInput, _Mapping]]] = ...) -> None: ...

class RowError(_message.Message):
    __slots__ = ("field", "code", "message")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    field: str
    code: str
    message: str
    def __init__(self, field: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class BatchRowResult(_message.Message):
    __slots__ = ("index", "external_id", "result", "order", "errors")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    index: int
    external_id: str
    result: str
    order: Order
    errors: _containers.RepeatedCompositeFieldContainer[RowError]
    def __init__(self, index: _Optional[int] = ..., external_id: _Optional[str] = ..., result: _Optional[str] = ..., order: _Optional[_Union[Order, _Mapping]] = ..., errors: _Optional[_Iterable[_Union[RowError, _Mapping]]] = ...) -> None: ...

class BatchUpsertOrdersResponse(_message.Message):
    __slots__ = ("results", "written", "invalid")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    INVALID_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[BatchRowResult]
    written: int
    invalid: int
    def __init__(self, results: _Optional[_Iterable[_Union[BatchRowResult, _Mapping]]] = ..., written: _Optional[int] = ..., invalid: _Optional[int] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "customer_id", "status", "kind", "ordered_after", "ordered_before")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ORDERED_AFTER_FIELD_NUMBER: _ClassVar[int]
    ORDERED_BEFORE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    customer_id: str
    status: str
    kind: str
    ordered_after: str
    ordered_before: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[str] = ..., kind: _Optional[str] = ..., ordered_after: _Optional[str] = ..., ordered_before: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Order]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
