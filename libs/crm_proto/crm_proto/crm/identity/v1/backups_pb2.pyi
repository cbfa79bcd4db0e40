import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StartBackupRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListBackupsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BackupIdRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TenantBackup(_message.Message):
    __slots__ = ("id", "status", "progress_done", "progress_total", "requested_by", "requested_by_name", "created_at", "finished_at", "expires_at", "rows", "files", "error", "filename")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_DONE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    progress_done: int
    progress_total: int
    requested_by: str
    requested_by_name: str
    created_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    rows: int
    files: int
    error: str
    filename: str
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., progress_done: _Optional[int] = ..., progress_total: _Optional[int] = ..., requested_by: _Optional[str] = ..., requested_by_name: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rows: _Optional[int] = ..., files: _Optional[int] = ..., error: _Optional[str] = ..., filename: _Optional[str] = ...) -> None: ...

class ListBackupsResponse(_message.Message):
    __slots__ = ("backups",)
    BACKUPS_FIELD_NUMBER: _ClassVar[int]
    backups: _containers.RepeatedCompositeFieldContainer[TenantBackup]
    def __init__(self, backups: _Optional[_Iterable[_Union[TenantBackup, _Mapping]]] = ...) -> None: ...

class BackupDownload(_message.Message):
    __slots__ = ("backup", "manifest_json", "files")
    BACKUP_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    backup: TenantBackup
    manifest_json: str
    files: _containers.RepeatedCompositeFieldContainer[BackupFilePages]
    def __init__(self, backup: _Optional[_Union[TenantBackup, _Mapping]] = ..., manifest_json: _Optional[str] = ..., files: _Optional[_Iterable[_Union[BackupFilePages, _Mapping]]] = ...) -> None: ...

class BackupFilePages(_message.Message):
    __slots__ = ("path", "pages")
    PATH_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    path: str
    pages: int
    def __init__(self, path: _Optional[str] = ..., pages: _Optional[int] = ...) -> None: ...

class ReadBackupPageRequest(_message.Message):
    __slots__ = ("id", "path", "seq")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    id: str
    path: str
    seq: int
    def __init__(self, id: _Optional[str] = ..., path: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class BackupChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...
