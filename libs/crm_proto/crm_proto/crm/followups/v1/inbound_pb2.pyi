from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetInboundAddressRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RotateInboundAddressRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InboundAddress(_message.Message):
    __slots__ = ("local_part", "domain")
    LOCAL_PART_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    local_part: str
    domain: str
    def __init__(self, local_part: _Optional[str] = ..., domain: _Optional[str] = ...) -> None: ...
