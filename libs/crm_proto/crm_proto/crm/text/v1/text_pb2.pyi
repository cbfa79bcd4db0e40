from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class TextKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINE: _ClassVar[TextKind]
    NAME: _ClassVar[TextKind]
    MULTILINE: _ClassVar[TextKind]
LINE: TextKind
NAME: TextKind
MULTILINE: TextKind
TEXT_FIELD_NUMBER: _ClassVar[int]
text: _descriptor.FieldDescriptor
