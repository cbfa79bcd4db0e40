from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImportTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "source_tenant_id", "table", "rows", "replace")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    source_tenant_id: str
    table: str
    rows: _containers.RepeatedScalarFieldContainer[str]
    replace: bool
    def __init__(self, tenant_id: _Optional[str] = ..., source_tenant_id: _Optional[str] = ..., table: _Optional[str] = ..., rows: _Optional[_Iterable[str]] = ..., replace: _Optional[bool] = ...) -> None: ...

class ImportTenantResponse(_message.Message):
    __slots__ = ("inserted",)
    INSERTED_FIELD_NUMBER: _ClassVar[int]
    inserted: int
    def __init__(self, inserted: _Optional[int] = ...) -> None: ...

class ListTenantDataRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class TenantDataTable(_message.Message):
    __slots__ = ("name", "rows")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    name: str
    rows: int
    def __init__(self, name: _Optional[str] = ..., rows: _Optional[int] = ...) -> None: ...

class ListTenantDataResponse(_message.Message):
    __slots__ = ("tables", "service")
    TABLES_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    tables: _containers.RepeatedCompositeFieldContainer[TenantDataTable]
    service: str
    def __init__(self, tables: _Optional[_Iterable[_Union[TenantDataTable, _Mapping]]] = ..., service: _Optional[str] = ...) -> None: ...

class ExportTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "table", "offset", "page_size")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TABLE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    table: str
    offset: int
    page_size: int
    def __init__(self, tenant_id: _Optional[str] = ..., table: _Optional[str] = ..., offset: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class ExportTenantResponse(_message.Message):
    __slots__ = ("rows", "next_offset", "done")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_OFFSET_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedScalarFieldContainer[str]
    next_offset: int
    done: bool
    def __init__(self, rows: _Optional[_Iterable[str]] = ..., next_offset: _Optional[int] = ..., done: _Optional[bool] = ...) -> None: ...

class EraseTenantRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class EraseTenantResponse(_message.Message):
    __slots__ = ("deleted", "schema_dropped")
    class DeletedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DELETED_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_DROPPED_FIELD_NUMBER: _ClassVar[int]
    deleted: _containers.ScalarMap[str, int]
    schema_dropped: bool
    def __init__(self, deleted: _Optional[_Mapping[str, int]] = ..., schema_dropped: _Optional[bool] = ...) -> None: ...

class ProvisionTenantRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ProvisionTenantResponse(_message.Message):
    __slots__ = ("tenant_id", "schema")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    schema: str
    def __init__(self, tenant_id: _Optional[str] = ..., schema: _Optional[str] = ...) -> None: ...
