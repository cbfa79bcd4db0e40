"""Auto-tag rule evaluation: pure functions over a rule list and a customer's fields, so the
semantics are testable without a database."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Customer fields a rule may test (names as in crm.customers.v1.Customer).
FIELDS = ("industry", "region", "status", "type", "name", "email", "mobile")
OPERATORS = ("equals", "contains")


@dataclass(frozen=True)
class Rule:
    id: uuid.UUID
    tag_id: uuid.UUID
    tag_name: str
    field: str
    operator: str
    value: str


def fold(text: str) -> str:
    """Comparison form: NFKC (full-width to half-width), then casefold (case-insensitive,
    including non-ASCII), trimmed."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def matches(rule: Rule, customer: Mapping[str, Any]) -> bool:
    actual = customer.get(rule.field)
    if not isinstance(actual, str) or not actual:
        return False  # an absent or empty field never matches (rule values are never empty)
    wanted, have = fold(rule.value), fold(actual)
    if rule.operator == "equals":
        return have == wanted
    if rule.operator == "contains":
        return wanted in have
    return False  # an operator this version does not know: fail closed


def tags_to_apply(rules: Iterable[Rule], customer: Mapping[str, Any]) -> list[Rule]:
    """The first matching rule of each tag, in rule order: a tag matched by several rules is
    applied once, credited to the earliest rule."""
    chosen: dict[uuid.UUID, Rule] = {}
    for rule in rules:
        if rule.tag_id not in chosen and matches(rule, customer):
            chosen[rule.tag_id] = rule
    return list(chosen.values())
