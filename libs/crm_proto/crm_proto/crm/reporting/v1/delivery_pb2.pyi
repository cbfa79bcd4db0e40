from crm_proto.crm.customers.v1 import segments_pb2 as _segments_pb2
from crm_proto.crm.reporting.v1 import reporting_pb2 as _reporting_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeliveryTarget(_message.Message):
    __slots__ = ("kind", "id", "panels", "object", "range", "range_from", "range_to", "view_filters", "segment_definition")
    class ViewFiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PANELS_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    RANGE_FROM_FIELD_NUMBER: _ClassVar[int]
    RANGE_TO_FIELD_NUMBER: _ClassVar[int]
    VIEW_FILTERS_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    id: str
    panels: _containers.RepeatedScalarFieldContainer[str]
    object: str
    range: str
    range_from: str
    range_to: str
    view_filters: _containers.ScalarMap[str, str]
    segment_definition: _segments_pb2.SegmentDefinition
    def __init__(self, kind: _Optional[str] = ..., id: _Optional[str] = ..., panels: _Optional[_Iterable[str]] = ..., object: _Optional[str] = ..., range: _Optional[str] = ..., range_from: _Optional[str] = ..., range_to: _Optional[str] = ..., view_filters: _Optional[_Mapping[str, str]] = ..., segment_definition: _Optional[_Union[_segments_pb2.SegmentDefinition, _Mapping]] = ...) -> None: ...

class CreateShareLinkRequest(_message.Message):
    __slots__ = ("target", "title", "expires_in_days", "password")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_DAYS_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    target: DeliveryTarget
    title: str
    expires_in_days: int
    password: str
    def __init__(self, target: _Optional[_Union[DeliveryTarget, _Mapping]] = ..., title: _Optional[str] = ..., expires_in_days: _Optional[int] = ..., password: _Optional[str] = ...) -> None: ...

class ShareLink(_message.Message):
    __slots__ = ("id", "target", "title", "created_by", "created_by_name", "created_at", "expires_at", "revoked_at", "password_protected", "state", "views", "last_viewed_at", "data_scope", "personal_fields_masked")
    ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_PROTECTED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    LAST_VIEWED_AT_FIELD_NUMBER: _ClassVar[int]
    DATA_SCOPE_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_FIELDS_MASKED_FIELD_NUMBER: _ClassVar[int]
    id: str
    target: DeliveryTarget
    title: str
    created_by: str
    created_by_name: str
    created_at: str
    expires_at: str
    revoked_at: str
    password_protected: bool
    state: str
    views: int
    last_viewed_at: str
    data_scope: str
    personal_fields_masked: bool
    def __init__(self, id: _Optional[str] = ..., target: _Optional[_Union[DeliveryTarget, _Mapping]] = ..., title: _Optional[str] = ..., created_by: _Optional[str] = ..., created_by_name: _Optional[str] = ..., created_at: _Optional[str] = ..., expires_at: _Optional[str] = ..., revoked_at: _Optional[str] = ..., password_protected: _Optional[bool] = ..., state: _Optional[str] = ..., views: _Optional[int] = ..., last_viewed_at: _Optional[str] = ..., data_scope: _Optional[str] = ..., personal_fields_masked: _Optional[bool] = ...) -> None: ...

class CreatedShareLink(_message.Message):
    __slots__ = ("link", "token")
    LINK_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    link: ShareLink
    token: str
    def __init__(self, link: _Optional[_Union[ShareLink, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListShareLinksRequest(_message.Message):
    __slots__ = ("state",)
    STATE_FIELD_NUMBER: _ClassVar[int]
    state: str
    def __init__(self, state: _Optional[str] = ...) -> None: ...

class ListShareLinksResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ShareLink]
    def __init__(self, items: _Optional[_Iterable[_Union[ShareLink, _Mapping]]] = ...) -> None: ...

class ShareLinkIdRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class OpenShareLinkRequest(_message.Message):
    __slots__ = ("token", "password", "locale", "time_zone")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    token: str
    password: str
    locale: str
    time_zone: str
    def __init__(self, token: _Optional[str] = ..., password: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class SharedContent(_message.Message):
    __slots__ = ("state", "link", "panels", "funnel", "has_funnel", "hidden_panels", "report_json")
    STATE_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    PANELS_FIELD_NUMBER: _ClassVar[int]
    FUNNEL_FIELD_NUMBER: _ClassVar[int]
    HAS_FUNNEL_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_PANELS_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    state: str
    link: ShareLink
    panels: _containers.RepeatedCompositeFieldContainer[_reporting_pb2.DashboardPanel]
    funnel: _reporting_pb2.GetFunnelResponse
    has_funnel: bool
    hidden_panels: _containers.RepeatedScalarFieldContainer[str]
    report_json: str
    def __init__(self, state: _Optional[str] = ..., link: _Optional[_Union[ShareLink, _Mapping]] = ..., panels: _Optional[_Iterable[_Union[_reporting_pb2.DashboardPanel, _Mapping]]] = ..., funnel: _Optional[_Union[_reporting_pb2.GetFunnelResponse, _Mapping]] = ..., has_funnel: _Optional[bool] = ..., hidden_panels: _Optional[_Iterable[str]] = ..., report_json: _Optional[str] = ...) -> None: ...

class GetShareSettingsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ShareSettings(_message.Message):
    __slots__ = ("allow_personal_fields", "version")
    ALLOW_PERSONAL_FIELDS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    allow_personal_fields: bool
    version: int
    def __init__(self, allow_personal_fields: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...

class CreateReportSubscriptionRequest(_message.Message):
    __slots__ = ("target", "title", "frequency", "weekday", "day_of_month", "time_of_day", "time_zone", "format", "recipient_ids")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    DAY_OF_MONTH_FIELD_NUMBER: _ClassVar[int]
    TIME_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_IDS_FIELD_NUMBER: _ClassVar[int]
    target: DeliveryTarget
    title: str
    frequency: str
    weekday: int
    day_of_month: int
    time_of_day: str
    time_zone: str
    format: str
    recipient_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target: _Optional[_Union[DeliveryTarget, _Mapping]] = ..., title: _Optional[str] = ..., frequency: _Optional[str] = ..., weekday: _Optional[int] = ..., day_of_month: _Optional[int] = ..., time_of_day: _Optional[str] = ..., time_zone: _Optional[str] = ..., format: _Optional[str] = ..., recipient_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SubscriptionRecipient(_message.Message):
    __slots__ = ("user_id", "email", "display_name", "locale", "unsubscribed")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    email: str
    display_name: str
    locale: str
    unsubscribed: bool
    def __init__(self, user_id: _Optional[str] = ..., email: _Optional[str] = ..., display_name: _Optional[str] = ..., locale: _Optional[str] = ..., unsubscribed: _Optional[bool] = ...) -> None: ...

class ReportSubscription(_message.Message):
    __slots__ = ("id", "target", "title", "frequency", "weekday", "day_of_month", "time_of_day", "time_zone", "format", "recipients", "created_by", "created_at", "next_run_at", "rrule")
    ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    DAY_OF_MONTH_FIELD_NUMBER: _ClassVar[int]
    TIME_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    RRULE_FIELD_NUMBER: _ClassVar[int]
    id: str
    target: DeliveryTarget
    title: str
    frequency: str
    weekday: int
    day_of_month: int
    time_of_day: str
    time_zone: str
    format: str
    recipients: _containers.RepeatedCompositeFieldContainer[SubscriptionRecipient]
    created_by: str
    created_at: str
    next_run_at: str
    rrule: str
    def __init__(self, id: _Optional[str] = ..., target: _Optional[_Union[DeliveryTarget, _Mapping]] = ..., title: _Optional[str] = ..., frequency: _Optional[str] = ..., weekday: _Optional[int] = ..., day_of_month: _Optional[int] = ..., time_of_day: _Optional[str] = ..., time_zone: _Optional[str] = ..., format: _Optional[str] = ..., recipients: _Optional[_Iterable[_Union[SubscriptionRecipient, _Mapping]]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[str] = ..., next_run_at: _Optional[str] = ..., rrule: _Optional[str] = ...) -> None: ...

class ListReportSubscriptionsRequest(_message.Message):
    __slots__ = ("target_kind", "target_id")
    TARGET_KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    target_kind: str
    target_id: str
    def __init__(self, target_kind: _Optional[str] = ..., target_id: _Optional[str] = ...) -> None: ...

class ListReportSubscriptionsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ReportSubscription]
    def __init__(self, items: _Optional[_Iterable[_Union[ReportSubscription, _Mapping]]] = ...) -> None: ...

class ReportSubscriptionIdRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListSubscriptionDeliveriesRequest(_message.Message):
    __slots__ = ("subscription_id", "limit")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    limit: int
    def __init__(self, subscription_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class SubscriptionDelivery(_message.Message):
    __slots__ = ("id", "subscription_id", "recipient_id", "occurrence_at", "status", "reason", "created_at", "sent_at", "attempts")
    ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRENCE_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    subscription_id: str
    recipient_id: str
    occurrence_at: str
    status: str
    reason: str
    created_at: str
    sent_at: str
    attempts: int
    def __init__(self, id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., recipient_id: _Optional[str] = ..., occurrence_at: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., created_at: _Optional[str] = ..., sent_at: _Optional[str] = ..., attempts: _Optional[int] = ...) -> None: ...

class ListSubscriptionDeliveriesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[SubscriptionDelivery]
    def __init__(self, items: _Optional[_Iterable[_Union[SubscriptionDelivery, _Mapping]]] = ...) -> None: ...

class UnsubscribeRequest(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class UnsubscribeResponse(_message.Message):
    __slots__ = ("state", "title")
    STATE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    state: str
    title: str
    def __init__(self, state: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...
