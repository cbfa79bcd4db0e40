"""The tenant's follow-up dictionaries: `method` (phone, visit, email, online meeting) and `result`
(interested, needs follow-up, not interested), each entry a code with an English and a Chinese
name (seeded by migration fu0110, replaced by tenant admins). Records and tasks keep the code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_followups.record.tables import dictionary_entries
from crm_platform.errors import FieldError, InvalidInput, NotFound

NAMES: Final = ("method", "result", "feedback_category")
MAX_ENTRIES: Final = 50
MAX_LABEL: Final = 50
CODE_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class Entry:
    code: str
    label_en: str
    label_zh: str


@dataclass(frozen=True)
class Dictionary:
    name: str
    entries: tuple[Entry, ...]

    def get(self, code: str) -> Entry | None:
        return next((e for e in self.entries if e.code == code), None)


def check_name(name: str) -> None:
    if name not in NAMES:
        raise NotFound("dictionary not found")


async def load(session: AsyncSession, name: str) -> Dictionary:
    check_name(name)
    rows = (await session.execute(
        sa.select(dictionary_entries).where(dictionary_entries.c.dictionary == name)
        .order_by(dictionary_entries.c.position)
    )).all()
    return Dictionary(name, tuple(Entry(r.code, r.label_en, r.label_zh) for r in rows))


def clean_code(dictionary: Dictionary, value: str, field: str, errors: list[FieldError], *,
               required: bool) -> str:
    """A code of `dictionary` (trimmed, any case); `required` / `unknown_code` on `field`."""
    code = value.strip().lower()
    if not code:
        if required:
            errors.append(FieldError(field, "required", f"{field} is required"))
        return ""
    if dictionary.get(code) is None:
        errors.append(FieldError(field, "unknown_code", f"{field} must be a code of the tenant's "
                                                        f"{dictionary.name} dictionary"))
    return code


def validate(entries: list[Entry]) -> list[Entry]:
    """Trimmed entries; InvalidInput naming `entries[i].<field>`."""
    errors: list[FieldError] = []
    if not entries:
        errors.append(FieldError("entries", "required", "at least one entry"))
    if len(entries) > MAX_ENTRIES:
        errors.append(FieldError("entries", "too_many", f"at most {MAX_ENTRIES} entries"))
    cleaned: list[Entry] = []
    seen: set[str] = set()
    for i, raw in enumerate(entries):
        code, en, zh = raw.code.strip().lower(), raw.label_en.strip(), raw.label_zh.strip()
        if not CODE_RE.match(code):
            errors.append(FieldError(f"entries[{i}].code", "invalid_code",
                                     "lower-case letters, digits and _, starting with a letter, at most 32"))
        elif code in seen:
            errors.append(FieldError(f"entries[{i}].code", "duplicate", "codes must be unique"))
        seen.add(code)
        for field, label in (("label_en", en), ("label_zh", zh)):
            if not label:
                errors.append(FieldError(f"entries[{i}].{field}", "required", f"{field} is required"))
            elif len(label) > MAX_LABEL:
                errors.append(FieldError(f"entries[{i}].{field}", "too_long", f"at most {MAX_LABEL} characters"))
        cleaned.append(Entry(code, en, zh))
    if errors:
        raise InvalidInput(errors)
    return cleaned


async def replace(session: AsyncSession, name: str, entries: list[Entry]) -> Dictionary:
    """Replaces the entries (records and tasks keep the codes they hold, shown as the code when
    an entry is gone)."""
    check_name(name)
    cleaned = validate(entries)
    await session.execute(sa.delete(dictionary_entries).where(dictionary_entries.c.dictionary == name))
    await session.execute(sa.insert(dictionary_entries), [
        {"dictionary": name, "code": e.code, "label_en": e.label_en, "label_zh": e.label_zh, "position": i}
        for i, e in enumerate(cleaned)
    ])
    return Dictionary(name, tuple(cleaned))
