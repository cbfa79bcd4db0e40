"""Custom fields defined by tenant admins, and the validation of customer values against them.

Values live in `customers.custom_fields` (JSONB, GIN `jsonb_path_ops` index): text and date as
strings (dates YYYY-MM-DD), number as a JSON number, boolean as true/false, single select as
one option string, multi select as a list of option strings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.cleaning import clean_text, parse_date
from crm_customers.customer.tables import custom_field_definitions as defs
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed

TYPES: Final = ("text", "number", "date", "single_select", "multi_select", "boolean")
KEY_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS: Final = 200
MAX_TEXT: Final = 2000
MAX_OPTIONS: Final = 200

MESSAGES: Final[dict[str, str]] = {
    "unknown_custom_field": "no custom field has this key",
    "required": "this field is required",
    "invalid_type": "wrong type for this field",
    "pattern_mismatch": "does not match the field's pattern",
    "out_of_range": "out of the field's range",
    "invalid_choice": "not one of the field's options",
    "invalid_date": "must be a date as YYYY-MM-DD",
    "too_long": "too long",
}


@dataclass(frozen=True)
class FieldDef:
    key: str
    label: str
    type: str
    required: bool = False
    options: tuple[str, ...] = ()
    pattern: str = ""
    min: str = ""
    max: str = ""
    version: int = 1
    created_at: Any = None
    updated_at: Any = None


@dataclass
class FieldChanges:
    """Definition fields sent by the caller (None: not sent)."""

    key: str | None = None
    label: str | None = None
    type: str | None = None
    required: bool | None = None
    options: list[str] | None = None
    pattern: str | None = None
    min: str | None = None
    max: str | None = None
    sent: set[str] = field(default_factory=set)


def _err(path: str, code: str) -> FieldError:
    return FieldError(path, code, MESSAGES.get(code, code))


def _bound(definition_type: str, raw: str) -> Decimal | date | int | None:
    if not raw:
        return None
    if definition_type == "number":
        value = Decimal(raw)
        if not value.is_finite():
            raise InvalidOperation
        return value
    if definition_type == "date":
        return parse_date(raw)
    if definition_type == "text":
        count = int(raw)
        if count < 0:
            raise ValueError(raw)
        return count
    raise ValueError(raw)


def definition_errors(d: FieldDef) -> list[FieldError]:
    errors: list[FieldError] = []
    if not KEY_RE.match(d.key):
        errors.append(FieldError("key", "invalid_key", "lower-case letters, digits and _, starting with a letter"))
    if not d.label or len(d.label) > 100:
        errors.append(FieldError("label", "required" if not d.label else "too_long", "1-100 characters"))
    if d.type not in TYPES:
        errors.append(FieldError("type", "invalid_choice", f"type must be one of {', '.join(TYPES)}"))
        return errors
    if d.type in ("single_select", "multi_select"):
        if not d.options:
            errors.append(FieldError("options", "required", "a select field needs options"))
        elif len(d.options) > MAX_OPTIONS or len(set(d.options)) != len(d.options) or not all(d.options):
            errors.append(FieldError("options", "invalid_options", "options must be unique and non-empty"))
    elif d.options:
        errors.append(FieldError("options", "not_applicable", "only select fields have options"))
    if d.pattern:
        if d.type != "text":
            errors.append(FieldError("pattern", "not_applicable", "only text fields have a pattern"))
        else:
            try:
                re.compile(d.pattern)
            except re.error:
                errors.append(FieldError("pattern", "invalid_pattern", "not a valid regular expression"))
    for name in ("min", "max"):
        raw = getattr(d, name)
        if not raw:
            continue
        if d.type not in ("number", "date", "text"):
            errors.append(FieldError(name, "not_applicable", "only number, date and text fields have a range"))
            continue
        try:
            _bound(d.type, raw)
        except (ValueError, InvalidOperation):
            errors.append(FieldError(name, "invalid_bound", "a number, a YYYY-MM-DD date or a length"))
    if not errors and d.min and d.max and d.type in ("number", "date", "text"):
        low, high = _bound(d.type, d.min), _bound(d.type, d.max)
        if low is not None and high is not None and low > high:  # type: ignore[operator]
            errors.append(FieldError("max", "invalid_bound", "max must not be less than min"))
    return errors


def _in_range(d: FieldDef, value: Any) -> bool:
    low, high = _bound(d.type, d.min), _bound(d.type, d.max)
    return (low is None or value >= low) and (high is None or value <= high)


def validate_value(d: FieldDef, value: Any) -> tuple[Any, str | None]:
    """(normalised value, error code or None) for one non-null value."""
    if d.type == "text":
        if not isinstance(value, str):
            return None, "invalid_type"
        text = clean_text(value)
        if len(text) > MAX_TEXT:
            return None, "too_long"
        if d.pattern and not re.fullmatch(d.pattern, text):
            return None, "pattern_mismatch"
        if not _in_range(d, len(text)):
            return None, "out_of_range"
        return text, None
    if d.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return None, "invalid_type"
        number: int | float = int(value) if isinstance(value, float) and value.is_integer() else value
        if not _in_range(d, Decimal(str(number))):
            return None, "out_of_range"
        return number, None
    if d.type == "date":
        if not isinstance(value, str):
            return None, "invalid_type"
        try:
            day = parse_date(value.strip())
        except ValueError:
            return None, "invalid_date"
        if not _in_range(d, day):
            return None, "out_of_range"
        return day.isoformat(), None
    if d.type == "boolean":
        return (value, None) if isinstance(value, bool) else (None, "invalid_type")
    if d.type == "single_select":
        if not isinstance(value, str):
            return None, "invalid_type"
        return (value, None) if value in d.options else (None, "invalid_choice")
    if d.type == "multi_select":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, "invalid_type"
        if any(v not in d.options for v in value):
            return None, "invalid_choice"
        return [o for o in d.options if o in value], None
    return None, "invalid_type"


def merge_values(
    definitions: list[FieldDef], stored: dict[str, Any], sent: dict[str, Any] | None, *, check_required: bool = True
) -> tuple[dict[str, Any], list[FieldError]]:
    """The custom field values after a write: stored values, with sent keys set (None clears).
    Keys no definition has any more are dropped; sending one is an error. Every value is checked
    against its definition, and required fields must hold a value."""
    by_key = {d.key: d for d in definitions}
    errors: list[FieldError] = []
    merged = {k: v for k, v in stored.items() if k in by_key}
    for key, value in (sent or {}).items():
        path = f"custom_fields.{key}"
        if key not in by_key:
            errors.append(_err(path, "unknown_custom_field"))
            continue
        if value is None or value == "" or value == []:
            merged.pop(key, None)
            continue
        normalised, problem = validate_value(by_key[key], value)
        if problem:
            errors.append(_err(path, problem))
        else:
            merged[key] = normalised
    if check_required:
        for d in definitions:
            if d.required and d.key not in merged and not any(e.field == f"custom_fields.{d.key}" for e in errors):
                errors.append(_err(f"custom_fields.{d.key}", "required"))
    return merged, errors


def filter_value(d: FieldDef, raw: str) -> tuple[Any, str | None]:
    """A `cf.<key>=value` list filter as the JSON the containment query needs."""
    if d.type == "number":
        try:
            number = Decimal(raw)
        except InvalidOperation:
            return None, "invalid_type"
        return (int(number) if number == number.to_integral_value() else float(number)), None
    if d.type == "boolean":
        if raw.lower() not in ("true", "false"):
            return None, "invalid_type"
        return raw.lower() == "true", None
    if d.type == "multi_select":
        return [raw], None
    if d.type == "date":
        try:
            return parse_date(raw).isoformat(), None
        except ValueError:
            return None, "invalid_date"
    return raw, None


# -- storage ---------------------------------------------------------------------------------


def _from_row(row: Any) -> FieldDef:
    return FieldDef(row.key, row.label, row.type, row.required, tuple(row.options), row.pattern, row.min, row.max,
                    row.version, row.created_at, row.updated_at)


async def list_all(session: AsyncSession) -> list[FieldDef]:
    rows = (await session.execute(sa.select(defs).order_by(defs.c.position, defs.c.key))).all()
    return [_from_row(r) for r in rows]


async def get(session: AsyncSession, key: str) -> FieldDef:
    row = (await session.execute(sa.select(defs).where(defs.c.key == key))).first()
    if row is None:
        raise NotFound("custom field not found")
    return _from_row(row)


async def create(session: AsyncSession, changes: FieldChanges) -> FieldDef:
    d = FieldDef(
        key=(changes.key or "").strip(), label=clean_text(changes.label or ""), type=(changes.type or "").strip(),
        required=bool(changes.required), options=tuple(clean_text(o) for o in changes.options or ()),
        pattern=changes.pattern or "", min=(changes.min or "").strip(), max=(changes.max or "").strip(),
    )
    errors = definition_errors(d)
    if errors:
        raise InvalidInput(errors)
    count = (await session.execute(sa.select(sa.func.count()).select_from(defs))).scalar_one()
    if count >= MAX_FIELDS:
        raise InvalidInput([FieldError("key", "too_many", f"at most {MAX_FIELDS} custom fields")])
    try:
        async with session.begin_nested():
            row = (
                await session.execute(
                    sa.insert(defs)
                    .values(key=d.key, label=d.label, type=d.type, required=d.required, options=list(d.options),
                            pattern=d.pattern, min=d.min, max=d.max, position=count, version=1)
                    .returning(defs)
                )
            ).one()
    except IntegrityError:
        raise Conflict("a custom field with this key exists", code="field_key_taken", extra={"field": "key"}) from None
    return _from_row(row)


async def update(session: AsyncSession, key: str, changes: FieldChanges, expected_version: int) -> FieldDef:
    current = await get(session, key)
    if changes.key is not None and changes.key != key:
        raise InvalidInput([FieldError("key", "immutable", "a field's key cannot change")])
    if changes.type is not None and changes.type != current.type:
        raise InvalidInput([FieldError("type", "immutable", "a field's type cannot change")])
    d = FieldDef(
        key=key, type=current.type,
        label=clean_text(changes.label) if changes.label is not None else current.label,
        required=changes.required if changes.required is not None else current.required,
        options=tuple(clean_text(o) for o in changes.options) if changes.options is not None else current.options,
        pattern=changes.pattern if changes.pattern is not None else current.pattern,
        min=changes.min.strip() if changes.min is not None else current.min,
        max=changes.max.strip() if changes.max is not None else current.max,
    )
    errors = definition_errors(d)
    if errors:
        raise InvalidInput(errors)
    if expected_version and expected_version != current.version:
        raise PreconditionFailed("the field was changed by someone else", code="stale_version",
                                 extra={"current_version": current.version})
    row = (
        await session.execute(
            sa.update(defs)
            .where(defs.c.key == key)
            .values(label=d.label, required=d.required, options=list(d.options), pattern=d.pattern, min=d.min,
                    max=d.max, version=defs.c.version + 1, updated_at=sa.func.now())
            .returning(defs)
        )
    ).one()
    return _from_row(row)


async def delete(session: AsyncSession, key: str) -> FieldDef:
    """Stored values of the key stay in the rows but are ignored and dropped on the next write."""
    row = (await session.execute(sa.delete(defs).where(defs.c.key == key).returning(defs))).first()
    if row is None:
        raise NotFound("custom field not found")
    return _from_row(row)
