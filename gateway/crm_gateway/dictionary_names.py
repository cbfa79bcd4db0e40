"""Dictionary values (industry, region, source) in the reader's language: each entry's `label_en` /
`label_zh` (customers migration c0061), else its `label`. Customers keep the label (industry), the
path of labels (region, "<top label>/<child label>") or the code (source); these turn them into display names for the
REST API (`display_label`) and every page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crm_gateway.i18n import Locale

REGION_SEPARATOR = " › "


def display_label(entry: Any, locale: Locale) -> str:
    """An entry's name in `locale` (its own label when it has none in that language)."""
    return str((entry.label_zh if locale == "zh-CN" else entry.label_en) or entry.label)


@dataclass
class DictionaryNames:
    """A tenant's dictionaries as display names for one locale."""

    locale: Locale
    industry: dict[str, str] = field(default_factory=dict)  # label or code (upper case) -> name
    region: dict[str, str] = field(default_factory=dict)  # one label of a path -> name
    source: dict[str, str] = field(default_factory=dict)  # code or label -> name

    @classmethod
    def of(cls, locale: Locale, industry: Iterable[Any] = (), region: Iterable[Any] = (),
           source: Iterable[Any] = ()) -> DictionaryNames:
        names = cls(locale)
        for target, entries in ((names.industry, industry), (names.region, region), (names.source, source)):
            for entry in entries:
                shown = display_label(entry, locale)
                target[entry.label] = shown
                target[entry.code.upper()] = target.get(entry.code.upper(), shown)
        return names

    def industry_name(self, value: str) -> str:
        return self.industry.get(value) or self.industry.get(value.upper()) or value

    def source_name(self, value: str) -> str:
        return self.source.get(value) or self.source.get(value.upper()) or value

    def region_name(self, path: str) -> str:
        """A region path ("<top>/<child>") as "North China › Beijing": each part by its own entry."""
        return REGION_SEPARATOR.join(self.region.get(part, part) for part in path.split("/") if part)
