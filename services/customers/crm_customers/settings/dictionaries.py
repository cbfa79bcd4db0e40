"""Tenant dictionaries: industry and source (flat), region (a tree such as 华北 > 北京).

Customers keep the industry as written (a dictionary label or code), the region as the path of
labels from the root ("华北/北京"), and the source as its code. Short codes feed customer codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.tables import dictionary_entries
from crm_platform.errors import FieldError, InvalidInput, NotFound

NAMES: Final = ("industry", "region", "source")
TREES: Final = frozenset({"region"})
MAX_ENTRIES: Final = 2000
_CODE_RE: Final = re.compile(r"^[A-Za-z0-9_]{1,16}$")
PATH_SEPARATORS: Final = re.compile(r"\s*(?:/|>|＞|›)\s*")


@dataclass(frozen=True)
class Entry:
    code: str
    label: str
    parent: str = ""
    path: str = ""
    # Display names per language (migration c0061); empty = `label`. Customers keep `label` (or the
    # code) as their value; pages and the API show the name in the reader's language.
    label_en: str = ""
    label_zh: str = ""


@dataclass
class Dictionary:
    name: str
    entries: list[Entry]

    def by_code(self) -> dict[str, Entry]:
        return {e.code: e for e in self.entries}

    def resolve(self, value: str) -> Entry | None:
        """The entry a customer value names: its code (any case), its label, or (for a tree) its
        path of labels; a tree also accepts a leaf label if it is unique."""
        if not value:
            return None
        upper = value.upper()
        for entry in self.entries:
            if entry.code.upper() == upper or entry.label == value or (entry.path and entry.path == value):
                return entry
        if self.name in TREES:
            parts = [p for p in PATH_SEPARATORS.split(value) if p]
            joined = "/".join(parts)
            for entry in self.entries:
                if entry.path == joined:
                    return entry
            leaves = [e for e in self.entries if e.label == parts[-1]] if parts else []
            if len(leaves) == 1:
                return leaves[0]
        return None

    def root_of(self, entry: Entry) -> Entry:
        codes = self.by_code()
        seen = 0
        while entry.parent and entry.parent in codes and seen < 32:
            entry = codes[entry.parent]
            seen += 1
        return entry


def with_paths(name: str, entries: list[Entry]) -> list[Entry]:
    """The entries with their paths of labels from the root (trees only)."""
    if name not in TREES:
        return entries
    codes = {e.code: e for e in entries}

    def path(entry: Entry) -> str:
        labels = [entry.label]
        seen = {entry.code}
        while entry.parent and entry.parent in codes and entry.parent not in seen:
            entry = codes[entry.parent]
            seen.add(entry.code)
            labels.append(entry.label)
        return "/".join(reversed(labels))

    return [Entry(e.code, e.label, e.parent, path(e), e.label_en, e.label_zh) for e in entries]


def check_name(name: str) -> None:
    if name not in NAMES:
        raise NotFound("dictionary not found")


async def load(session: AsyncSession, name: str) -> Dictionary:
    check_name(name)
    rows = (
        await session.execute(
            sa.select(dictionary_entries)
            .where(dictionary_entries.c.dictionary == name)
            .order_by(dictionary_entries.c.position)
        )
    ).all()
    return Dictionary(name, with_paths(name, [Entry(r.code, r.label, r.parent, "", r.label_en, r.label_zh)
                                               for r in rows]))


def validate_entries(name: str, entries: list[Entry]) -> list[Entry]:
    """Trimmed, checked entries; raises InvalidInput naming `entries[i].field`."""
    errors: list[FieldError] = []
    if len(entries) > MAX_ENTRIES:
        errors.append(FieldError("entries", "too_many", f"at most {MAX_ENTRIES} entries"))
    cleaned: list[Entry] = []
    seen_codes: set[str] = set()
    seen_labels: set[tuple[str, str]] = set()
    for i, raw in enumerate(entries):
        code, label, parent = raw.code.strip(), raw.label.strip(), raw.parent.strip()
        where = f"entries[{i}]"
        if not _CODE_RE.match(code):
            errors.append(FieldError(f"{where}.code", "invalid_code",
                                     "1-16 letters, digits or underscores"))
        elif code.upper() in seen_codes:
            errors.append(FieldError(f"{where}.code", "duplicate", "codes must be unique"))
        seen_codes.add(code.upper())
        if not label:
            errors.append(FieldError(f"{where}.label", "required", "label is required"))
        elif len(label) > 100 or "/" in label:
            errors.append(FieldError(f"{where}.label", "invalid_label", "at most 100 characters, no '/'"))
        elif (parent, label) in seen_labels:
            errors.append(FieldError(f"{where}.label", "duplicate", "labels must be unique under one parent"))
        seen_labels.add((parent, label))
        if parent and name not in TREES:
            errors.append(FieldError(f"{where}.parent", "not_a_tree", f"{name} is a flat list"))
        names = {"label_en": raw.label_en.strip(), "label_zh": raw.label_zh.strip()}
        for key, value in names.items():
            if len(value) > 100 or "/" in value:
                errors.append(FieldError(f"{where}.{key}", "invalid_label", "at most 100 characters, no '/'"))
        cleaned.append(Entry(code, label, parent, "", names["label_en"], names["label_zh"]))
    codes = {e.code for e in cleaned}
    for i, entry in enumerate(cleaned):
        if entry.parent and name in TREES:
            if entry.parent not in codes or entry.parent == entry.code:
                errors.append(FieldError(f"entries[{i}].parent", "unknown_parent", "no entry has this code"))
                continue
            # A parent chain must end at a root (no cycles).
            by_code = {e.code: e for e in cleaned}
            node, steps = entry, 0
            while node.parent and steps <= len(cleaned):
                node = by_code.get(node.parent, Entry("", "", ""))
                steps += 1
            if steps > len(cleaned):
                errors.append(FieldError(f"entries[{i}].parent", "cycle", "parents form a cycle"))
    if errors:
        raise InvalidInput(errors)
    return cleaned


async def replace(session: AsyncSession, name: str, entries: list[Entry]) -> Dictionary:
    check_name(name)
    cleaned = validate_entries(name, entries)
    await session.execute(sa.delete(dictionary_entries).where(dictionary_entries.c.dictionary == name))
    if cleaned:
        await session.execute(
            sa.insert(dictionary_entries),
            [
                {"dictionary": name, "code": e.code, "label": e.label, "parent": e.parent, "position": i,
                 "label_en": e.label_en, "label_zh": e.label_zh}
                for i, e in enumerate(cleaned)
            ],
        )
    return Dictionary(name, with_paths(name, cleaned))
