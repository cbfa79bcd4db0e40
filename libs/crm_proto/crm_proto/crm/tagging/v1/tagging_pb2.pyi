import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from crm_proto.crm.text.v1 import text_pb2 as _text_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Tag(_message.Message):
    __slots__ = ("id", "name", "color", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    color: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., color: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TagRule(_message.Message):
    __slots__ = ("id", "tag_id", "field", "operator", "value", "enabled", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tag_id: str
    field: str
    operator: str
    value: str
    enabled: bool
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tag_id: _Optional[str] = ..., field: _Optional[str] = ..., operator: _Optional[str] = ..., value: _Optional[str] = ..., enabled: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustomerTag(_message.Message):
    __slots__ = ("customer_id", "tag_id", "tag_name", "source", "rule_id", "applied_at", "tag_color", "applied_by")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    TAG_COLOR_FIELD_NUMBER: _ClassVar[int]
    APPLIED_BY_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tag_id: str
    tag_name: str
    source: str
    rule_id: str
    applied_at: _timestamp_pb2.Timestamp
    tag_color: str
    applied_by: str
    def __init__(self, customer_id: _Optional[str] = ..., tag_id: _Optional[str] = ..., tag_name: _Optional[str] = ..., source: _Optional[str] = ..., rule_id: _Optional[str] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tag_color: _Optional[str] = ..., applied_by: _Optional[str] = ...) -> None: ...

class CreateTagRequest(_message.Message):
    __slots__ = ("name", "color")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    color: str
    def __init__(self, name: _Optional[str] = ..., color: _Optional[str] = ...) -> None: ...

class ListTagsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "ids")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListTagsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Tag]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateTagRuleRequest(_message.Message):
    __slots__ = ("tag_id", "field", "operator", "value")
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    tag_id: str
    field: str
    operator: str
    value: str
    def __init__(self, tag_id: _Optional[str] = ..., field: _Optional[str] = ..., operator: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ListTagRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTagRulesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[TagRule]
    def __init__(self, items: _Optional[_Iterable[_Union[TagRule, _Mapping]]] = ...) -> None: ...

class ListCustomerTagsRequest(_message.Message):
    __slots__ = ("customer_id",)
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    def __init__(self, customer_id: _Optional[str] = ...) -> None: ...

class ListCustomerTagsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[CustomerTag]
    def __init__(self, items: _Optional[_Iterable[_Union[CustomerTag, _Mapping]]] = ...) -> None: ...

class ApplyCustomerTagRequest(_message.Message):
    __slots__ = ("customer_id", "tag_id")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tag_id: str
    def __init__(self, customer_id: _Optional[str] = ..., tag_id: _Optional[str] = ...) -> None: ...

class ApplyCustomerTagResponse(_message.Message):
    __slots__ = ("customer_tag", "newly_applied")
    CUSTOMER_TAG_FIELD_NUMBER: _ClassVar[int]
    NEWLY_APPLIED_FIELD_NUMBER: _ClassVar[int]
    customer_tag: CustomerTag
    newly_applied: bool
    def __init__(self, customer_tag: _Optional[_Union[CustomerTag, _Mapping]] = ..., newly_applied: _Optional[bool] = ...) -> None: ...

class RemoveCustomerTagRequest(_message.Message):
    __slots__ = ("customer_id", "tag_id")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tag_id: str
    def __init__(self, customer_id: _Optional[str] = ..., tag_id: _Optional[str] = ...) -> None: ...

class RemoveCustomerTagResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: CustomerTag
    def __init__(self, removed: _Optional[_Union[CustomerTag, _Mapping]] = ...) -> None: ...
