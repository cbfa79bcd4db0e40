from crm_proto.crm.customers.v1 import segments_pb2 as _segments_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetValueAnalysisRequest(_message.Message):
    __slots__ = ("currency", "order_by", "segment", "page_size", "page_token", "object", "view_filters", "segment_definition")
    class ViewFiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FILTERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    currency: str
    order_by: str
    segment: str
    page_size: int
    page_token: str
    object: str
    view_filters: _containers.ScalarMap[str, str]
    segment_definition: _segments_pb2.SegmentDefinition
    def __init__(self, currency: _Optional[str] = ..., order_by: _Optional[str] = ..., segment: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., object: _Optional[str] = ..., view_filters: _Optional[_Mapping[str, str]] = ..., segment_definition: _Optional[_Union[_segments_pb2.SegmentDefinition, _Mapping]] = ...) -> None: ...

class CustomerValueFigures(_message.Message):
    __slots__ = ("customer_id", "name", "currency", "annual_spend", "orders_12m", "lifetime_value", "orders", "first_ordered_on", "last_ordered_on", "average_order_value", "predicted_value", "segment", "recency_score", "frequency_score", "monetary_score", "reason_en", "reason_zh")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_SPEND_FIELD_NUMBER: _ClassVar[int]
    ORDERS_12M_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_VALUE_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    FIRST_ORDERED_ON_FIELD_NUMBER: _ClassVar[int]
    LAST_ORDERED_ON_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_ORDER_VALUE_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_VALUE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    RECENCY_SCORE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_SCORE_FIELD_NUMBER: _ClassVar[int]
    MONETARY_SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_EN_FIELD_NUMBER: _ClassVar[int]
    REASON_ZH_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    name: str
    currency: str
    annual_spend: str
    orders_12m: int
    lifetime_value: str
    orders: int
    first_ordered_on: str
    last_ordered_on: str
    average_order_value: str
    predicted_value: str
    segment: str
    recency_score: int
    frequency_score: int
    monetary_score: int
    reason_en: str
    reason_zh: str
    def __init__(self, customer_id: _Optional[str] = ..., name: _Optional[str] = ..., currency: _Optional[str] = ..., annual_spend: _Optional[str] = ..., orders_12m: _Optional[int] = ..., lifetime_value: _Optional[str] = ..., orders: _Optional[int] = ..., first_ordered_on: _Optional[str] = ..., last_ordered_on: _Optional[str] = ..., average_order_value: _Optional[str] = ..., predicted_value: _Optional[str] = ..., segment: _Optional[str] = ..., recency_score: _Optional[int] = ..., frequency_score: _Optional[int] = ..., monetary_score: _Optional[int] = ..., reason_en: _Optional[str] = ..., reason_zh: _Optional[str] = ...) -> None: ...

class GetValueAnalysisResponse(_message.Message):
    __slots__ = ("currency", "items", "total_size", "next_page_token")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    currency: str
    items: _containers.RepeatedCompositeFieldContainer[CustomerValueFigures]
    total_size: int
    next_page_token: str
    def __init__(self, currency: _Optional[str] = ..., items: _Optional[_Iterable[_Union[CustomerValueFigures, _Mapping]]] = ..., total_size: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetCustomerValueRequest(_message.Message):
    __slots__ = ("customer_id",)
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    def __init__(self, customer_id: _Optional[str] = ...) -> None: ...

class GetCustomerValueResponse(_message.Message):
    __slots__ = ("found", "hidden", "value")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    found: bool
    hidden: bool
    value: CustomerValueFigures
    def __init__(self, found: _Optional[bool] = ..., hidden: _Optional[bool] = ..., value: _Optional[_Union[CustomerValueFigures, _Mapping]] = ...) -> None: ...

class GetValueRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ValueRules(_message.Message):
    __slots__ = ("currency", "high_value_annual_spend", "potential_predicted_value", "low_value_inactive_days", "recency_days", "frequency_orders", "monetary_amounts", "version")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    HIGH_VALUE_ANNUAL_SPEND_FIELD_NUMBER: _ClassVar[int]
    POTENTIAL_PREDICTED_VALUE_FIELD_NUMBER: _ClassVar[int]
    LOW_VALUE_INACTIVE_DAYS_FIELD_NUMBER: _ClassVar[int]
    RECENCY_DAYS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_ORDERS_FIELD_NUMBER: _ClassVar[int]
    MONETARY_AMOUNTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    currency: str
    high_value_annual_spend: str
    potential_predicted_value: str
    low_value_inactive_days: int
    recency_days: _containers.RepeatedScalarFieldContainer[int]
    frequency_orders: _containers.RepeatedScalarFieldContainer[int]
    monetary_amounts: _containers.RepeatedScalarFieldContainer[str]
    version: int
    def __init__(self, currency: _Optional[str] = ..., high_value_annual_spend: _Optional[str] = ..., potential_predicted_value: _Optional[str] = ..., low_value_inactive_days: _Optional[int] = ..., recency_days: _Optional[_Iterable[int]] = ..., frequency_orders: _Optional[_Iterable[int]] = ..., monetary_amounts: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ...) -> None: ...

class ListDashboardPanelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PanelInfo(_message.Message):
    __slots__ = ("id", "chart", "fields", "available", "hidden_fields", "uses_range")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHART_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_FIELDS_FIELD_NUMBER: _ClassVar[int]
    USES_RANGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    chart: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    available: bool
    hidden_fields: _containers.RepeatedScalarFieldContainer[str]
    uses_range: bool
    def __init__(self, id: _Optional[str] = ..., chart: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., available: _Optional[bool] = ..., hidden_fields: _Optional[_Iterable[str]] = ..., uses_range: _Optional[bool] = ...) -> None: ...

class ListDashboardPanelsResponse(_message.Message):
    __slots__ = ("panels",)
    PANELS_FIELD_NUMBER: _ClassVar[int]
    panels: _containers.RepeatedCompositeFieldContainer[PanelInfo]
    def __init__(self, panels: _Optional[_Iterable[_Union[PanelInfo, _Mapping]]] = ...) -> None: ...

class GetDashboardPanelRequest(_message.Message):
    __slots__ = ("panel", "object", "view_filters", "range", "to", "currency", "limit", "segment_definition")
    class ViewFiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PANEL_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FILTERS_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    panel: str
    object: str
    view_filters: _containers.ScalarMap[str, str]
    range: str
    to: str
    currency: str
    limit: int
    segment_definition: _segments_pb2.SegmentDefinition
    def __init__(self, panel: _Optional[str] = ..., object: _Optional[str] = ..., view_filters: _Optional[_Mapping[str, str]] = ..., range: _Optional[str] = ..., to: _Optional[str] = ..., currency: _Optional[str] = ..., limit: _Optional[int] = ..., segment_definition: _Optional[_Union[_segments_pb2.SegmentDefinition, _Mapping]] = ..., **kwargs) -> None: ...

class PanelPoint(_message.Message):
    __slots__ = ("key", "label", "currency", "value", "count", "filter")
    class FilterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    key: str
    label: str
    currency: str
    value: str
    count: int
    filter: _containers.ScalarMap[str, str]
    def __init__(self, key: _Optional[str] = ..., label: _Optional[str] = ..., currency: _Optional[str] = ..., value: _Optional[str] = ..., count: _Optional[int] = ..., filter: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DashboardPanel(_message.Message):
    __slots__ = ("panel", "chart", "object", "to", "points", "omitted_fields")
    PANEL_FIELD_NUMBER: _ClassVar[int]
    CHART_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    OMITTED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    panel: str
    chart: str
    object: str
    to: str
    points: _containers.RepeatedCompositeFieldContainer[PanelPoint]
    omitted_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, panel: _Optional[str] = ..., chart: _Optional[str] = ..., object: _Optional[str] = ..., to: _Optional[str] = ..., points: _Optional[_Iterable[_Union[PanelPoint, _Mapping]]] = ..., omitted_fields: _Optional[_Iterable[str]] = ..., **kwargs) -> None: ...

class DashboardItem(_message.Message):
    __slots__ = ("panel", "options")
    class OptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PANEL_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    panel: str
    options: _containers.ScalarMap[str, str]
    def __init__(self, panel: _Optional[str] = ..., options: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Dashboard(_message.Message):
    __slots__ = ("items", "origin", "version")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[DashboardItem]
    origin: str
    version: int
    def __init__(self, items: _Optional[_Iterable[_Union[DashboardItem, _Mapping]]] = ..., origin: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetMyDashboardRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PutDashboardRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[DashboardItem]
    def __init__(self, items: _Optional[_Iterable[_Union[DashboardItem, _Mapping]]] = ...) -> None: ...

class GetFunnelRequest(_message.Message):
    __slots__ = ("to", "object", "view_filters", "segment_definition")
    class ViewFiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FILTERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    to: str
    object: str
    view_filters: _containers.ScalarMap[str, str]
    segment_definition: _segments_pb2.SegmentDefinition
    def __init__(self, to: _Optional[str] = ..., object: _Optional[str] = ..., view_filters: _Optional[_Mapping[str, str]] = ..., segment_definition: _Optional[_Union[_segments_pb2.SegmentDefinition, _Mapping]] = ..., **kwargs) -> None: ...

class FunnelStage(_message.Message):
    __slots__ = ("stage", "customers", "conversion_from_previous", "conversion_overall", "median_days_in_stage")
    STAGE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_FROM_PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_OVERALL_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_DAYS_IN_STAGE_FIELD_NUMBER: _ClassVar[int]
    stage: str
    customers: int
    conversion_from_previous: str
    conversion_overall: str
    median_days_in_stage: str
    def __init__(self, stage: _Optional[str] = ..., customers: _Optional[int] = ..., conversion_from_previous: _Optional[str] = ..., conversion_overall: _Optional[str] = ..., median_days_in_stage: _Optional[str] = ...) -> None: ...

class GetFunnelResponse(_message.Message):
    __slots__ = ("to", "cohort", "stages", "filter")
    class FilterEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    COHORT_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    to: str
    cohort: int
    stages: _containers.RepeatedCompositeFieldContainer[FunnelStage]
    filter: _containers.ScalarMap[str, str]
    def __init__(self, to: _Optional[str] = ..., cohort: _Optional[int] = ..., stages: _Optional[_Iterable[_Union[FunnelStage, _Mapping]]] = ..., filter: _Optional[_Mapping[str, str]] = ..., **kwargs) -> None: ...

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
