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
    __slots__ = ("customer_id", "fields", "actor", "client_id")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    client_id: str
    def __init__(self, customer_id: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., client_id: _Optional[str] = ...) -> None: ...

class TagApplied(_message.Message):
    __slots__ = ("customer_id", "tag_id", "tag_name", "source", "rule_id")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    tag_id: str
    tag_name: str
    source: str
    rule_id: str
    def __init__(self, customer_id: _Optional[str] = ..., tag_id: _Optional[str] = ..., tag_name: _Optional[str] = ..., source: _Optional[str] = ..., rule_id: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("user_id", "team_id", "roles", "version")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    team_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    version: int
    def __init__(self, user_id: _Optional[str] = ..., team_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ...) -> None: ...

class UserUpdated(_message.Message):
    __slots__ = ("user_id", "team_id", "roles", "version")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TEAM_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    team_id: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    version: int
    def __init__(self, user_id: _Optional[str] = ..., team_id: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ...) -> None: ...
