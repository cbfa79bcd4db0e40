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

class GetSpendReportRequest(_message.Message):
    __slots__ = ("from_month", "to_month", "currency")
    FROM_MONTH_FIELD_NUMBER: _ClassVar[int]
    TO_MONTH_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    from_month: str
    to_month: str
    currency: str
    def __init__(self, from_month: _Optional[str] = ..., to_month: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class SpendMonth(_message.Message):
    __slots__ = ("month", "currency", "amount", "orders")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    month: str
    currency: str
    amount: str
    orders: int
    def __init__(self, month: _Optional[str] = ..., currency: _Optional[str] = ..., amount: _Optional[str] = ..., orders: _Optional[int] = ...) -> None: ...

class GetSpendReportResponse(_message.Message):
    __slots__ = ("rows", "from_month", "to_month")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    FROM_MONTH_FIELD_NUMBER: _ClassVar[int]
    TO_MONTH_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[SpendMonth]
    from_month: str
    to_month: str
    def __init__(self, rows: _Optional[_Iterable[_Union[SpendMonth, _Mapping]]] = ..., from_month: _Optional[str] = ..., to_month: _Optional[str] = ...) -> None: ...

class GetCustomerValueReportRequest(_message.Message):
    __slots__ = ("currency", "limit")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    currency: str
    limit: int
    def __init__(self, currency: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class CustomerValue(_message.Message):
    __slots__ = ("customer_id", "lifetime_value", "orders", "last_ordered_on")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_VALUE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    LAST_ORDERED_ON_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    lifetime_value: str
    orders: int
    last_ordered_on: str
    def __init__(self, customer_id: _Optional[str] = ..., lifetime_value: _Optional[str] = ..., orders: _Optional[int] = ..., last_ordered_on: _Optional[str] = ...) -> None: ...

class GetCustomerValueReportResponse(_message.Message):
    __slots__ = ("currency", "rows")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    currency: str
    rows: _containers.RepeatedCompositeFieldContainer[CustomerValue]
    def __init__(self, currency: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[CustomerValue, _Mapping]]] = ...) -> None: ...
