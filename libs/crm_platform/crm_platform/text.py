"""The one text rule: which characters a text value may hold, by kind of field, and how text
already stored is made safe for the places it is shown (HTML, XLSX, CSV). docs/api.md, "Text input".

Kinds (every string is `LINE` unless its field is declared otherwise):
- `LINE`: single-line text (codes, emails, ids, filters, search, tokens, passwords). Refused: C0
  controls (TAB, LF and CR too), DEL, C1 controls, the line/paragraph separators U+2028/U+2029,
  lone surrogates and the non-characters U+FFFE/U+FFFF.
- `NAME`: single-line text that names something people see (customer, contact, tag, team, role,
  user, view, rule...). `LINE`'s refusals plus the bidi embedding/override/isolate controls
  U+202A-U+202E and U+2066-U+2069 (they make a name display as something else), and a value made
  only of invisible characters (zero-width, other format characters, fillers, whitespace).
- `MULTILINE`: long text (notes, needs, reasons, descriptions). TAB, LF, CR and U+2028/U+2029 are
  allowed, as are bidi controls (mixed-direction paragraphs use them); the other refusals of `LINE`
  hold.

Codes (stable, on the field at fault): `invalid_characters` for a refused character,
`empty_after_cleaning` for a name with nothing visible in it. Postgres cannot store NUL at all,
XML (so XLSX) cannot hold most C0 controls, and terminals and spreadsheets act on the others:
refusing them at the edge is what keeps every later reader safe.

The gateway applies this rule to every request field, query parameter and form field; each
service applies it again to every string of every gRPC request (crm_platform.grpc_server), with
the kinds declared on proto fields (`crm.text.v1.text`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import Any, Final

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from crm_platform.errors import FieldError, InvalidInput
from crm_proto.crm.text.v1 import text_pb2


class TextKind(StrEnum):
    LINE = "line"
    NAME = "name"
    MULTILINE = "multiline"


INVALID_CHARACTERS: Final = "invalid_characters"
EMPTY_AFTER_CLEANING: Final = "empty_after_cleaning"

# Character classes as regex fragments (valid in Python and ECMA-262 regular expressions, so the
# same text goes into the OpenAPI `pattern` of each kind).
_CONTROLS_KEEPING_LINE_BREAKS: Final = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_LINE_BREAKS: Final = r"\u0009\u000a\u000d\u2028\u2029"
_SURROGATES: Final = r"\ud800-\udfff"
_NOT_TEXT: Final = _SURROGATES + r"\ufffe\uffff"
_BIDI_CONTROLS: Final = r"\u202a-\u202e\u2066-\u2069"

_REFUSED_CLASS: Final[dict[TextKind, str]] = {
    TextKind.LINE: _CONTROLS_KEEPING_LINE_BREAKS + _LINE_BREAKS + _NOT_TEXT,
    TextKind.NAME: _CONTROLS_KEEPING_LINE_BREAKS + _LINE_BREAKS + _NOT_TEXT + _BIDI_CONTROLS,
    TextKind.MULTILINE: _CONTROLS_KEEPING_LINE_BREAKS + _NOT_TEXT,
}
_REFUSED: Final[dict[TextKind, re.Pattern[str]]] = {
    kind: re.compile(f"[{chars}]") for kind, chars in _REFUSED_CLASS.items()
}

# Shown as nothing, yet not whitespace to str.strip(): a name made of these (and spaces) is empty.
_INVISIBLE_EXTRA: Final = frozenset("\u034f\u115f\u1160\u2800\u3164\uffa0")


def json_schema_pattern(kind: TextKind) -> str:
    """The characters `kind` allows, as a JSON Schema `pattern` (documentation for clients and
    fuzzers). Two parts of the rule are not in it: a name's "something visible" (stated in words),
    and lone surrogates (no UTF-8 text can hold one, and regex engines that work on UTF-8, as
    validators do, cannot compile a surrogate range)."""
    return f"^[^{_REFUSED_CLASS[kind].replace(_SURROGATES, '')}]*$"


def _invisible(char: str) -> bool:
    return (
        char.isspace()
        or char in _INVISIBLE_EXTRA
        or unicodedata.category(char) == "Cf"
        or "\ufe00" <= char <= "\ufe0f"  # variation selectors
        or "\U000e0100" <= char <= "\U000e01ef"
    )


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def text_problem(value: str, kind: TextKind = TextKind.LINE) -> tuple[str, str] | None:
    """(code, English message) when `value` breaks the rule for `kind`, else None."""
    found = _REFUSED[kind].search(value)
    if found is not None:
        return INVALID_CHARACTERS, (
            f"contains a character that is not allowed here ({_describe(found.group())} "
            f"at position {found.start() + 1})"
        )
    if kind is TextKind.NAME and value and not value.isspace() and all(_invisible(c) for c in value):
        return EMPTY_AFTER_CLEANING, "has no visible characters"
    return None


def check(field: str, value: str, kind: TextKind = TextKind.LINE) -> FieldError | None:
    problem = text_problem(value, kind)
    return None if problem is None else FieldError(field, *problem)


def field_errors(values: Iterable[tuple[str, str, TextKind]]) -> list[FieldError]:
    """Every (field, value, kind) that breaks the rule, as field errors."""
    return [error for field, value, kind in values if (error := check(field, value, kind)) is not None]


# -- gRPC requests: every string of a message, with the kind its proto field declares --------------

_PROTO_KINDS: Final[dict[int, TextKind]] = {
    text_pb2.LINE: TextKind.LINE, text_pb2.NAME: TextKind.NAME, text_pb2.MULTILINE: TextKind.MULTILINE,
}
_STRUCT: Final = "google.protobuf.Struct"
_TEXT_OPTION: Any = text_pb2.text  # the generated extension (typed loosely by the stubs)
_field_kinds: dict[FieldDescriptor, TextKind] = {}


def _field_kind(field: FieldDescriptor) -> TextKind:
    kind = _field_kinds.get(field)
    if kind is None:
        kind = _field_kinds[field] = _PROTO_KINDS.get(field.GetOptions().Extensions[_TEXT_OPTION], TextKind.LINE)
    return kind


def _map_entry(field: FieldDescriptor) -> Descriptor | None:
    """The entry type of a map field (its `value` field says what the values are), else None."""
    entry: Descriptor | None = field.message_type
    return entry if entry is not None and entry.GetOptions().map_entry else None


def json_strings(data: Any, path: str = "") -> Iterator[tuple[str, str, TextKind]]:
    """(path, string, kind) inside JSON-like data (a Struct, a custom-fields object): keys are
    identifiers (LINE), string values may be long text (custom text fields hold up to 2,000
    characters)."""
    if isinstance(data, str):
        yield path, data, TextKind.MULTILINE
    elif isinstance(data, dict):
        for key, item in data.items():
            key_text = str(key)
            yield path, key_text, TextKind.LINE  # a bad key is reported on the object, never echoed
            yield from json_strings(item, f"{path}.{key_text}" if path else key_text)
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            yield from json_strings(item, f"{path}[{index}]")


def message_strings(message: Message, prefix: str = "") -> Iterator[tuple[str, str, TextKind]]:
    """(field path, value, kind) for every string set in `message`, nested messages, repeated
    fields, maps and Structs included; paths use proto names (`customer.name`, `items[0].name`)."""
    if message.DESCRIPTOR.full_name == _STRUCT:
        yield from json_strings(json_format.MessageToDict(message), prefix)
        return
    for field, value in message.ListFields():
        path = f"{prefix}.{field.name}" if prefix else field.name
        entry = _map_entry(field)
        if entry is not None:
            value_field = entry.fields_by_name["value"]
            for key, item in value.items():
                if isinstance(key, str):
                    yield path, key, TextKind.LINE
                item_path = f"{path}.{key}"
                if value_field.type == FieldDescriptor.TYPE_STRING:
                    yield item_path, item, _field_kind(field)
                elif value_field.type == FieldDescriptor.TYPE_MESSAGE:
                    yield from message_strings(item, item_path)
        elif field.type == FieldDescriptor.TYPE_STRING:
            kind = _field_kind(field)
            if field.is_repeated:
                for index, item in enumerate(value):
                    yield f"{path}[{index}]", item, kind
            else:
                yield path, value, kind
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                for index, item in enumerate(value):
                    yield from message_strings(item, f"{path}[{index}]")
            else:
                yield from message_strings(value, path)


def require_clean_message(message: Message) -> None:
    """The gRPC edge's check of every request (crm_platform.grpc_server): InvalidInput naming every
    string field that breaks the text rule, before any handler sees the request."""
    errors = field_errors(message_strings(message))
    if errors:
        raise InvalidInput(errors)


# -- text already stored: made safe where it is shown ----------------------------------------------

REPLACEMENT: Final = "\ufffd"
_UNSAFE_TO_SHOW: Final = re.compile(f"[{_CONTROLS_KEEPING_LINE_BREAKS}{_NOT_TEXT}]")
# A cell a spreadsheet would run as a formula ("=HYPERLINK(...)", "@SUM", "-1+2", a leading TAB/CR):
# kept as text with a leading apostrophe (OWASP CSV injection). Phone numbers ("+8613800138000",
# "-1") are left alone.
_FORMULA: Final = re.compile(r"^(?:[=@\t\r]|[+-](?![\d\s().]*$))")


def printable(value: str) -> str:
    """Stored text with every character no reader should get (controls other than TAB/LF/CR,
    lone surrogates, U+FFFE/U+FFFF) shown as U+FFFD, so it can be rendered in HTML, written to XML
    (XLSX) or CSV, and still shows that something was there. Values written after the text rule
    came in never contain them; older ones may."""
    return _UNSAFE_TO_SHOW.sub(REPLACEMENT, value) if _UNSAFE_TO_SHOW.search(value) else value


def neutralise_formula(value: str) -> str:
    return "'" + value if _FORMULA.match(value) else value


def csv_cell(value: str) -> str:
    """A CSV cell from stored text: printable and never run as a formula by a spreadsheet. Every
    CSV writer passes its cells through this."""
    return neutralise_formula(printable(value))


def xlsx_cells(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for openpyxl's `sheet.append` (normal or write-only sheets): text becomes printable
    (XML cannot hold most control characters: openpyxl raises IllegalCharacterError on them) and
    always a string cell, never a formula ("=cmd|..." stays text); other values (numbers, dates,
    None) pass unchanged. Every XLSX writer builds its rows with this."""
    from openpyxl.cell import WriteOnlyCell  # only the writers of spreadsheets need openpyxl

    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=printable(value))
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row
