"""Auto-tag rule semantics, as pure functions."""

from __future__ import annotations

import uuid

import pytest

from crm_tagging.autotag.matching import Rule, matches, tags_to_apply

VIP, TECH = uuid.uuid4(), uuid.uuid4()


def rule(field: str, operator: str, value: str, tag_id: uuid.UUID = VIP) -> Rule:
    return Rule(id=uuid.uuid4(), tag_id=tag_id, tag_name="tag", field=field, operator=operator, value=value)


@pytest.mark.parametrize(
    ("operator", "value", "actual", "expected"),
    [
        ("equals", "IT", "it", True),  # case-insensitive
        ("equals", "it", " IT ", True),  # surrounding blanks ignored
        ("equals", "IT", "ＩＴ", True),  # full-width folds to half-width
        ("equals", "IT", "IT services", False),  # exact, not a prefix
        ("equals", "Straße", "STRASSE", True),  # casefold, not just lower()
        ("contains", "科技", "北京科技有限公司", True),
        ("contains", "TECH", "FinTech Ltd", True),  # case-insensitive substring
        ("contains", "bank", "FinTech Ltd", False),
        ("contains", "x", "", False),  # an empty field never matches
    ],
)
def test_operators(operator: str, value: str, actual: str, expected: bool) -> None:
    assert matches(rule("industry", operator, value), {"industry": actual}) is expected


def test_a_missing_or_non_text_field_never_matches() -> None:
    assert not matches(rule("region", "equals", "north"), {"industry": "north"})
    assert not matches(rule("region", "equals", "1"), {"region": 1})
    assert not matches(rule("region", "equals", "none"), {"region": None})


def test_an_unknown_operator_fails_closed() -> None:
    assert not matches(rule("name", "regex", ".*"), {"name": "anything"})


def test_each_tag_is_applied_once_credited_to_its_first_matching_rule() -> None:
    first_vip = rule("industry", "equals", "it")
    second_vip = rule("name", "contains", "acme")
    tech = rule("industry", "contains", "i", tag_id=TECH)
    never = rule("status", "equals", "lost", tag_id=uuid.uuid4())
    customer = {"industry": "IT", "name": "ACME Ltd", "status": "won"}

    chosen = tags_to_apply([first_vip, second_vip, tech, never], customer)

    assert chosen == [first_vip, tech]


def test_no_rules_no_tags() -> None:
    assert tags_to_apply([], {"industry": "IT"}) == []
