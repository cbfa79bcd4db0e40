from crm_proto.crm.customers.v1 import customers_pb2 as _customers_pb2
from crm_proto.crm.followups.v1 import followups_pb2 as _followups_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerCreated(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _customers_pb2.Customer
    def __init__(self, customer: _Optional[_Union[_customers_pb2.Customer, _Mapping]] = ...) -> None: ...

class CustomersImported(_message.Message):
    __slots__ = ("import_id", "customers")
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    import_id: str
    customers: _containers.RepeatedCompositeFieldContainer[_customers_pb2.Customer]
    def __init__(self, import_id: _Optional[str] = ..., customers: _Optional[_Iterable[_Union[_customers_pb2.Customer, _Mapping]]] = ...) -> None: ...

class CustomersImportReverted(_message.Message):
    __slots__ = ("import_id", "customers")
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    import_id: str
    customers: _containers.RepeatedCompositeFieldContainer[_customers_pb2.Customer]
    def __init__(self, import_id: _Optional[str] = ..., customers: _Optional[_Iterable[_Union[_customers_pb2.Customer, _Mapping]]] = ...) -> None: ...

class CustomerImportFinished(_message.Message):
    __slots__ = ("import_id", "actor", "filename", "created", "updated", "skipped")
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    import_id: str
    actor: str
    filename: str
    created: int
    updated: int
    skipped: int
    def __init__(self, import_id: _Optional[str] = ..., actor: _Optional[str] = ..., filename: _Optional[str] = ..., created: _Optional[int] = ..., updated: _Optional[int] = ..., skipped: _Optional[int] = ...) -> None: ...

class CustomerImportUndone(_message.Message):
    __slots__ = ("import_id", "actor", "undone")
    IMPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    UNDONE_FIELD_NUMBER: _ClassVar[int]
    import_id: str
    actor: str
    undone: int
    def __init__(self, import_id: _Optional[str] = ..., actor: _Optional[str] = ..., undone: _Optional[int] = ...) -> None: ...

class CustomerUpdated(_message.Message):
    __slots__ = ("customer", "changed_fields")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    customer: _customers_pb2.Customer
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, customer: _Optional[_Union[_customers_pb2.Customer, _Mapping]] = ..., changed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomerDeleted(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _customers_pb2.Customer
    def __init__(self, customer: _Optional[_Union[_customers_pb2.Customer, _Mapping]] = ...) -> None: ...

class CustomerRestored(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _customers_pb2.Customer
    def __init__(self, customer: _Optional[_Union[_customers_pb2.Customer, _Mapping]] = ...) -> None: ...

class CustomerRevealed(_message.Message):
    __slots__ = ("customer_id", "fields", "actor", "client_id", "ip", "user_agent")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    client_id: str
    ip: str
    user_agent: str
    def __init__(self, customer_id: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., client_id: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class TagApplied(_message.Message):
    __slots__ = ("customer_id", "tag_id", "tag_name", "source", "rule_id", "actor", "change_seq")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_SEQ_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tag_id: str
    tag_name: str
    source: str
    rule_id: str
    actor: str
    change_seq: int
    def __init__(self, customer_id: _Optional[str] = ..., tag_id: _Optional[str] = ..., tag_name: _Optional[str] = ..., source: _Optional[str] = ..., rule_id: _Optional[str] = ..., actor: _Optional[str] = ..., change_seq: _Optional[int] = ...) -> None: ...

class TagRemoved(_message.Message):
    __slots__ = ("customer_id", "tag_id", "tag_name", "source", "actor", "change_seq")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_SEQ_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tag_id: str
    tag_name: str
    source: str
    actor: str
    change_seq: int
    def __init__(self, customer_id: _Optional[str] = ..., tag_id: _Optional[str] = ..., tag_name: _Optional[str] = ..., source: _Optional[str] = ..., actor: _Optional[str] = ..., change_seq: _Optional[int] = ...) -> None: ...

class FollowupTaskCreated(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _followups_pb2.Task
    def __init__(self, task: _Optional[_Union[_followups_pb2.Task, _Mapping]] = ...) -> None: ...

class TenantSuspended(_message.Message):
    __slots__ = ("tenant_id", "reason")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    reason: str
    def __init__(self, tenant_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class TenantResumed(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class UserCreated(_message.Message):
    __slots__ = ("user_id", "team_id", "roles", "version", "display_name", "disabled", "email", "locale", "time_zone", "access_known", "access_scopes", "data_scope", "team_ids", "field_policies", "team_manager_id", "team_manager_known")
    class FieldPoliciesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    ACCESS_SCOPES_FIELD_NUMBER: _ClassVar[int]
    DATA_SCOPE_FIELD_NUMBER: _ClassVar[int]
    TEAM_IDS_FIELD_NUMBER: _ClassVar[int]
    FIELD_POLICIES_FIELD_NUMBER: _ClassVar[int]
    TEAM_MANAGER_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_MANAGER_KNOWN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    team_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    version: int
    display_name: str
    disabled: bool
    email: str
    locale: str
    time_zone: str
    access_known: bool
    access_scopes: _containers.RepeatedScalarFieldContainer[str]
    data_scope: str
    team_ids: _containers.RepeatedScalarFieldContainer[str]
    field_policies: _containers.ScalarMap[str, str]
    team_manager_id: str
    team_manager_known: bool
    def __init__(self, user_id: _Optional[str] = ..., team_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ..., display_name: _Optional[str] = ..., disabled: _Optional[bool] = ..., email: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., access_known: _Optional[bool] = ..., access_scopes: _Optional[_Iterable[str]] = ..., data_scope: _Optional[str] = ..., team_ids: _Optional[_Iterable[str]] = ..., field_policies: _Optional[_Mapping[str, str]] = ..., team_manager_id: _Optional[str] = ..., team_manager_known: _Optional[bool] = ...) -> None: ...

class UserUpdated(_message.Message):
    __slots__ = ("user_id", "team_id", "roles", "version", "display_name", "disabled", "email", "locale", "time_zone", "access_known", "access_scopes", "data_scope", "team_ids", "field_policies", "team_manager_id", "team_manager_known")
    class FieldPoliciesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    ACCESS_SCOPES_FIELD_NUMBER: _ClassVar[int]
    DATA_SCOPE_FIELD_NUMBER: _ClassVar[int]
    TEAM_IDS_FIELD_NUMBER: _ClassVar[int]
    FIELD_POLICIES_FIELD_NUMBER: _ClassVar[int]
    TEAM_MANAGER_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_MANAGER_KNOWN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    team_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    version: int
    display_name: str
    disabled: bool
    email: str
    locale: str
    time_zone: str
    access_known: bool
    access_scopes: _containers.RepeatedScalarFieldContainer[str]
    data_scope: str
    team_ids: _containers.RepeatedScalarFieldContainer[str]
    field_policies: _containers.ScalarMap[str, str]
    team_manager_id: str
    team_manager_known: bool
    def __init__(self, user_id: _Optional[str] = ..., team_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ..., display_name: _Optional[str] = ..., disabled: _Optional[bool] = ..., email: _Optional[str] = ..., locale: _Optional[str] = ..., time_zone: _Optional[str] = ..., access_known: _Optional[bool] = ..., access_scopes: _Optional[_Iterable[str]] = ..., data_scope: _Optional[str] = ..., team_ids: _Optional[_Iterable[str]] = ..., field_policies: _Optional[_Mapping[str, str]] = ..., team_manager_id: _Optional[str] = ..., team_manager_known: _Optional[bool] = ...) -> None: ...

class OrderRecorded(_message.Message):
    __slots__ = ("order_id", "external_id", "customer_id", "kind", "amount", "currency", "ordered_on", "status", "version", "moved")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDERED_ON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    external_id: str
    customer_id: str
    kind: str
    amount: str
    currency: str
    ordered_on: str
    status: str
    version: int
    moved: bool
    def __init__(self, order_id: _Optional[str] = ..., external_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., kind: _Optional[str] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., ordered_on: _Optional[str] = ..., status: _Optional[str] = ..., version: _Optional[int] = ..., moved: _Optional[bool] = ...) -> None: ...

class CustomerErased(_message.Message):
    __slots__ = ("customer_id",)
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    def __init__(self, customer_id: _Optional[str] = ...) -> None: ...

class CustomerMerged(_message.Message):
    __slots__ = ("merge_id", "survivor_id", "merged_ids")
    MERGE_ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_IDS_FIELD_NUMBER: _ClassVar[int]
    merge_id: str
    survivor_id: str
    merged_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, merge_id: _Optional[str] = ..., survivor_id: _Optional[str] = ..., merged_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomerUnmerged(_message.Message):
    __slots__ = ("merge_id", "survivor_id", "merged_ids")
    MERGE_ID_FIELD_NUMBER: _ClassVar[int]
    SURVIVOR_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_IDS_FIELD_NUMBER: _ClassVar[int]
    merge_id: str
    survivor_id: str
    merged_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, merge_id: _Optional[str] = ..., survivor_id: _Optional[str] = ..., merged_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CustomerExported(_message.Message):
    __slots__ = ("export_id", "actor", "client_id", "format", "rows", "filters", "columns", "ip", "user_agent")
    class FiltersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EXPORT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    export_id: str
    actor: str
    client_id: str
    format: str
    rows: int
    filters: _containers.ScalarMap[str, str]
    columns: _containers.RepeatedScalarFieldContainer[str]
    ip: str
    user_agent: str
    def __init__(self, export_id: _Optional[str] = ..., actor: _Optional[str] = ..., client_id: _Optional[str] = ..., format: _Optional[str] = ..., rows: _Optional[int] = ..., filters: _Optional[_Mapping[str, str]] = ..., columns: _Optional[_Iterable[str]] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class FollowupTaskCompleted(_message.Message):
    __slots__ = ("task", "completed_by")
    TASK_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_BY_FIELD_NUMBER: _ClassVar[int]
    task: _followups_pb2.Task
    completed_by: str
    def __init__(self, task: _Optional[_Union[_followups_pb2.Task, _Mapping]] = ..., completed_by: _Optional[str] = ...) -> None: ...

class FollowupTaskUpdated(_message.Message):
    __slots__ = ("task", "actor", "changed_fields")
    TASK_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    task: _followups_pb2.Task
    actor: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task: _Optional[_Union[_followups_pb2.Task, _Mapping]] = ..., actor: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class FollowupTaskDue(_message.Message):
    __slots__ = ("task", "user_id")
    TASK_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    task: _followups_pb2.Task
    user_id: str
    def __init__(self, task: _Optional[_Union[_followups_pb2.Task, _Mapping]] = ..., user_id: _Optional[str] = ...) -> None: ...

class FollowupRecordCreated(_message.Message):
    __slots__ = ("record", "method_en", "method_zh", "result_en", "result_zh")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    METHOD_EN_FIELD_NUMBER: _ClassVar[int]
    METHOD_ZH_FIELD_NUMBER: _ClassVar[int]
    RESULT_EN_FIELD_NUMBER: _ClassVar[int]
    RESULT_ZH_FIELD_NUMBER: _ClassVar[int]
    record: _followups_pb2.Record
    method_en: str
    method_zh: str
    result_en: str
    result_zh: str
    def __init__(self, record: _Optional[_Union[_followups_pb2.Record, _Mapping]] = ..., method_en: _Optional[str] = ..., method_zh: _Optional[str] = ..., result_en: _Optional[str] = ..., result_zh: _Optional[str] = ...) -> None: ...

class WebhookEndpointDisabled(_message.Message):
    __slots__ = ("endpoint_id", "url", "reason", "failing_since", "disabled_at", "last_status_code", "last_error", "deliveries_dead_lettered")
    ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FAILING_SINCE_FIELD_NUMBER: _ClassVar[int]
    DISABLED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_DEAD_LETTERED_FIELD_NUMBER: _ClassVar[int]
    endpoint_id: str
    url: str
    reason: str
    failing_since: str
    disabled_at: str
    last_status_code: int
    last_error: str
    deliveries_dead_lettered: int
    def __init__(self, endpoint_id: _Optional[str] = ..., url: _Optional[str] = ..., reason: _Optional[str] = ..., failing_since: _Optional[str] = ..., disabled_at: _Optional[str] = ..., last_status_code: _Optional[int] = ..., last_error: _Optional[str] = ..., deliveries_dead_lettered: _Optional[int] = ...) -> None: ...
