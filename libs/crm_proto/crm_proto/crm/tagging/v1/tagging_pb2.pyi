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
    __slots__ = ("id", "name", "color", "created_at", "description", "category_id", "exclusive_group", "archived", "archived_at", "customer_count", "version", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_GROUP_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_AT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_COUNT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    color: str
    created_at: _timestamp_pb2.Timestamp
    description: str
    category_id: str
    exclusive_group: str
    archived: bool
    archived_at: _timestamp_pb2.Timestamp
    customer_count: int
    version: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., color: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., description: _Optional[str] = ..., category_id: _Optional[str] = ..., exclusive_group: _Optional[str] = ..., archived: _Optional[bool] = ..., archived_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., customer_count: _Optional[int] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TagCategory(_message.Message):
    __slots__ = ("id", "key", "name", "description", "position", "tag_count", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TAG_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    key: str
    name: str
    description: str
    position: int
    tag_count: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., key: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., position: _Optional[int] = ..., tag_count: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TaggingSettings(_message.Message):
    __slots__ = ("max_tags_per_customer", "version", "updated_at")
    MAX_TAGS_PER_CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    max_tags_per_customer: int
    version: int
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, max_tags_per_customer: _Optional[int] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TagRule(_message.Message):
    __slots__ = ("id", "tag_id", "field", "operator", "value", "enabled", "created_at", "name", "conditions_json", "action", "priority", "version", "updated_at", "last_run_at", "tag_name", "time_based")
    ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RUN_AT_FIELD_NUMBER: _ClassVar[int]
    TAG_NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_BASED_FIELD_NUMBER: _ClassVar[int]
    id: str
    tag_id: str
    field: str
    operator: str
    value: str
    enabled: bool
    created_at: _timestamp_pb2.Timestamp
    name: str
    conditions_json: str
    action: str
    priority: int
    version: int
    updated_at: _timestamp_pb2.Timestamp
    last_run_at: _timestamp_pb2.Timestamp
    tag_name: str
    time_based: bool
    def __init__(self, id: _Optional[str] = ..., tag_id: _Optional[str] = ..., field: _Optional[str] = ..., operator: _Optional[str] = ..., value: _Optional[str] = ..., enabled: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., name: _Optional[str] = ..., conditions_json: _Optional[str] = ..., action: _Optional[str] = ..., priority: _Optional[int] = ..., version: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_run_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tag_name: _Optional[str] = ..., time_based: _Optional[bool] = ...) -> None: ...

class TagJob(_message.Message):
    __slots__ = ("id", "kind", "status", "done", "total", "result_json", "last_error", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    status: str
    done: int
    total: int
    result_json: str
    last_error: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., result_json: _Optional[str] = ..., last_error: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustomerTag(_message.Message):
    __slots__ = ("customer_id", "tag_id", "tag_name", "source", "rule_id", "applied_at", "tag_color", "applied_by", "trigger", "rule_name")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    TAG_COLOR_FIELD_NUMBER: _ClassVar[int]
    APPLIED_BY_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    RULE_NAME_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tag_id: str
    tag_name: str
    source: str
    rule_id: str
    applied_at: _timestamp_pb2.Timestamp
    tag_color: str
    applied_by: str
    trigger: str
    rule_name: str
    def __init__(self, customer_id: _Optional[str] = ..., tag_id: _Optional[str] = ..., tag_name: _Optional[str] = ..., source: _Optional[str] = ..., rule_id: _Optional[str] = ..., applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., tag_color: _Optional[str] = ..., applied_by: _Optional[str] = ..., trigger: _Optional[str] = ..., rule_name: _Optional[str] = ...) -> None: ...

class CreateTagRequest(_message.Message):
    __slots__ = ("name", "color", "description", "category_id", "exclusive_group")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_GROUP_FIELD_NUMBER: _ClassVar[int]
    name: str
    color: str
    description: str
    category_id: str
    exclusive_group: str
    def __init__(self, name: _Optional[str] = ..., color: _Optional[str] = ..., description: _Optional[str] = ..., category_id: _Optional[str] = ..., exclusive_group: _Optional[str] = ...) -> None: ...

class ListTagsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "ids", "category_id", "state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    ids: _containers.RepeatedScalarFieldContainer[str]
    category_id: str
    state: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., ids: _Optional[_Iterable[str]] = ..., category_id: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class ListTagsResponse(_message.Message):
    __slots__ = ("items", "next_page_token")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Tag]
    next_page_token: str
    def __init__(self, items: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CreateTagRuleRequest(_message.Message):
    __slots__ = ("tag_id", "field", "operator", "value", "name", "conditions_json", "action", "priority")
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    tag_id: str
    field: str
    operator: str
    value: str
    name: str
    conditions_json: str
    action: str
    priority: int
    def __init__(self, tag_id: _Optional[str] = ..., field: _Optional[str] = ..., operator: _Optional[str] = ..., value: _Optional[str] = ..., name: _Optional[str] = ..., conditions_json: _Optional[str] = ..., action: _Optional[str] = ..., priority: _Optional[int] = ...) -> None: ...

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

class GetTagRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateTagRequest(_message.Message):
    __slots__ = ("id", "expected_version", "name", "color", "description", "category_id", "exclusive_group", "archived")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    EXCLUSIVE_GROUP_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    id: str
    expected_version: int
    name: str
    color: str
    description: str
    category_id: str
    exclusive_group: str
    archived: bool
    def __init__(self, id: _Optional[str] = ..., expected_version: _Optional[int] = ..., name: _Optional[str] = ..., color: _Optional[str] = ..., description: _Optional[str] = ..., category_id: _Optional[str] = ..., exclusive_group: _Optional[str] = ..., archived: _Optional[bool] = ...) -> None: ...

class DeleteTagRequest(_message.Message):
    __slots__ = ("id", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteTagResponse(_message.Message):
    __slots__ = ("tag", "removed_from_customers", "deleted_rules")
    TAG_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FROM_CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    DELETED_RULES_FIELD_NUMBER: _ClassVar[int]
    tag: Tag
    removed_from_customers: int
    deleted_rules: int
    def __init__(self, tag: _Optional[_Union[Tag, _Mapping]] = ..., removed_from_customers: _Optional[int] = ..., deleted_rules: _Optional[int] = ...) -> None: ...

class MergeTagsRequest(_message.Message):
    __slots__ = ("source_tag_id", "target_tag_id")
    SOURCE_TAG_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_TAG_ID_FIELD_NUMBER: _ClassVar[int]
    source_tag_id: str
    target_tag_id: str
    def __init__(self, source_tag_id: _Optional[str] = ..., target_tag_id: _Optional[str] = ...) -> None: ...

class MergeTagsResponse(_message.Message):
    __slots__ = ("target", "moved_customers", "already_tagged", "moved_rules")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    MOVED_CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    ALREADY_TAGGED_FIELD_NUMBER: _ClassVar[int]
    MOVED_RULES_FIELD_NUMBER: _ClassVar[int]
    target: Tag
    moved_customers: int
    already_tagged: int
    moved_rules: int
    def __init__(self, target: _Optional[_Union[Tag, _Mapping]] = ..., moved_customers: _Optional[int] = ..., already_tagged: _Optional[int] = ..., moved_rules: _Optional[int] = ...) -> None: ...

class ListTagCategoriesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTagCategoriesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[TagCategory]
    def __init__(self, items: _Optional[_Iterable[_Union[TagCategory, _Mapping]]] = ...) -> None: ...

class CreateTagCategoryRequest(_message.Message):
    __slots__ = ("name", "description", "position")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    position: int
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class UpdateTagCategoryRequest(_message.Message):
    __slots__ = ("id", "name", "description", "position")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    position: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class DeleteTagCategoryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTaggingSettingsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateTaggingSettingsRequest(_message.Message):
    __slots__ = ("max_tags_per_customer", "expected_version")
    MAX_TAGS_PER_CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    max_tags_per_customer: int
    expected_version: int
    def __init__(self, max_tags_per_customer: _Optional[int] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetTagRuleRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateTagRuleRequest(_message.Message):
    __slots__ = ("id", "expected_version", "tag_id", "name", "conditions_json", "action", "priority", "enabled")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    id: str
    expected_version: int
    tag_id: str
    name: str
    conditions_json: str
    action: str
    priority: int
    enabled: bool
    def __init__(self, id: _Optional[str] = ..., expected_version: _Optional[int] = ..., tag_id: _Optional[str] = ..., name: _Optional[str] = ..., conditions_json: _Optional[str] = ..., action: _Optional[str] = ..., priority: _Optional[int] = ..., enabled: _Optional[bool] = ...) -> None: ...

class DeleteTagRuleRequest(_message.Message):
    __slots__ = ("id", "take_back")
    ID_FIELD_NUMBER: _ClassVar[int]
    TAKE_BACK_FIELD_NUMBER: _ClassVar[int]
    id: str
    take_back: bool
    def __init__(self, id: _Optional[str] = ..., take_back: _Optional[bool] = ...) -> None: ...

class DeleteTagRuleResponse(_message.Message):
    __slots__ = ("rule", "tags_taken_back")
    RULE_FIELD_NUMBER: _ClassVar[int]
    TAGS_TAKEN_BACK_FIELD_NUMBER: _ClassVar[int]
    rule: TagRule
    tags_taken_back: int
    def __init__(self, rule: _Optional[_Union[TagRule, _Mapping]] = ..., tags_taken_back: _Optional[int] = ...) -> None: ...

class PreviewTagRuleRequest(_message.Message):
    __slots__ = ("conditions_json",)
    CONDITIONS_JSON_FIELD_NUMBER: _ClassVar[int]
    conditions_json: str
    def __init__(self, conditions_json: _Optional[str] = ...) -> None: ...

class PreviewTagRuleResponse(_message.Message):
    __slots__ = ("count", "sample_customer_ids", "time_based")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    TIME_BASED_FIELD_NUMBER: _ClassVar[int]
    count: int
    sample_customer_ids: _containers.RepeatedScalarFieldContainer[str]
    time_based: bool
    def __init__(self, count: _Optional[int] = ..., sample_customer_ids: _Optional[_Iterable[str]] = ..., time_based: _Optional[bool] = ...) -> None: ...

class RerunTagRuleRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTagJobRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TagBatch(_message.Message):
    __slots__ = ("id", "action", "tag_ids", "status", "total", "done", "applied", "removed", "skipped", "actor", "job_id", "created_at", "finished_at", "undone_at", "undone_by")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TAG_IDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    UNDONE_AT_FIELD_NUMBER: _ClassVar[int]
    UNDONE_BY_FIELD_NUMBER: _ClassVar[int]
    id: str
    action: str
    tag_ids: _containers.RepeatedScalarFieldContainer[str]
    status: str
    total: int
    done: int
    applied: int
    removed: int
    skipped: int
    actor: str
    job_id: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    undone_at: _timestamp_pb2.Timestamp
    undone_by: str
    def __init__(self, id: _Optional[str] = ..., action: _Optional[str] = ..., tag_ids: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ..., total: _Optional[int] = ..., done: _Optional[int] = ..., applied: _Optional[int] = ..., removed: _Optional[int] = ..., skipped: _Optional[int] = ..., actor: _Optional[str] = ..., job_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undone_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., undone_by: _Optional[str] = ...) -> None: ...

class StartTagBatchRequest(_message.Message):
    __slots__ = ("action", "tag_ids", "customer_ids")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TAG_IDS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    action: str
    tag_ids: _containers.RepeatedScalarFieldContainer[str]
    customer_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, action: _Optional[str] = ..., tag_ids: _Optional[_Iterable[str]] = ..., customer_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetTagBatchRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UndoTagBatchRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTagUsageRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TagUsageRow(_message.Message):
    __slots__ = ("tag", "applied_90d", "removed_90d", "applied_by_hand_90d", "applied_by_rule_90d", "last_applied_at")
    TAG_FIELD_NUMBER: _ClassVar[int]
    APPLIED_90D_FIELD_NUMBER: _ClassVar[int]
    REMOVED_90D_FIELD_NUMBER: _ClassVar[int]
    APPLIED_BY_HAND_90D_FIELD_NUMBER: _ClassVar[int]
    APPLIED_BY_RULE_90D_FIELD_NUMBER: _ClassVar[int]
    LAST_APPLIED_AT_FIELD_NUMBER: _ClassVar[int]
    tag: Tag
    applied_90d: int
    removed_90d: int
    applied_by_hand_90d: int
    applied_by_rule_90d: int
    last_applied_at: _timestamp_pb2.Timestamp
    def __init__(self, tag: _Optional[_Union[Tag, _Mapping]] = ..., applied_90d: _Optional[int] = ..., removed_90d: _Optional[int] = ..., applied_by_hand_90d: _Optional[int] = ..., applied_by_rule_90d: _Optional[int] = ..., last_applied_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TagOverlap(_message.Message):
    __slots__ = ("tag_id", "other_tag_id", "both", "ratio")
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    OTHER_TAG_ID_FIELD_NUMBER: _ClassVar[int]
    BOTH_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    tag_id: str
    other_tag_id: str
    both: int
    ratio: float
    def __init__(self, tag_id: _Optional[str] = ..., other_tag_id: _Optional[str] = ..., both: _Optional[int] = ..., ratio: _Optional[float] = ...) -> None: ...

class TagUsage(_message.Message):
    __slots__ = ("rows", "overlaps")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    OVERLAPS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[TagUsageRow]
    overlaps: _containers.RepeatedCompositeFieldContainer[TagOverlap]
    def __init__(self, rows: _Optional[_Iterable[_Union[TagUsageRow, _Mapping]]] = ..., overlaps: _Optional[_Iterable[_Union[TagOverlap, _Mapping]]] = ...) -> None: ...
