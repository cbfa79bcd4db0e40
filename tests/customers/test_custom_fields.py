"""Custom field definitions and value validation (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from crm_customers.fields.service import FieldDef, definition_errors, filter_value, merge_values, validate_value

TEXT = FieldDef("po", "PO", "text", pattern=r"PO-\d{4}")
SHORT = FieldDef("nick", "Nick", "text", min="2", max="4")
NUMBER = FieldDef("seats", "Seats", "number", min="1", max="1000")
DATE = FieldDef("renewal", "Renewal", "date", min="2020-01-01", max="2030-12-31")
SINGLE = FieldDef("tier", "Tier", "single_select", options=("A", "B"))
MULTI = FieldDef("products", "Products", "multi_select", options=("CRM", "ERP", "BI"))
BOOL = FieldDef("vip", "VIP", "boolean")


@pytest.mark.parametrize("definition, value, stored, code", [
    (TEXT, "PO-1234", "PO-1234", None),
    (TEXT, " PO-1234 ", "PO-1234", None),
    (TEXT, "PO-12", None, "pattern_mismatch"),
    (TEXT, 5, None, "invalid_type"),
    (SHORT, "ab", "ab", None),
    (SHORT, "a", None, "out_of_range"),
    (SHORT, "abcde", None, "out_of_range"),
    (NUMBER, 20, 20, None),
    (NUMBER, 20.0, 20, None),
    (NUMBER, 2.5, 2.5, None),
    (NUMBER, 0, None, "out_of_range"),
    (NUMBER, 1001, None, "out_of_range"),
    (NUMBER, "20", None, "invalid_type"),
    (NUMBER, True, None, "invalid_type"),
    (DATE, "2024-01-31", "2024-01-31", None),
    (DATE, "2019-12-31", None, "out_of_range"),
    (DATE, "2024-02-30", None, "invalid_date"),
    (SINGLE, "A", "A", None),
    (SINGLE, "C", None, "invalid_choice"),
    (SINGLE, ["A"], None, "invalid_type"),
    (MULTI, ["BI", "CRM"], ["CRM", "BI"], None),
    (MULTI, ["HR"], None, "invalid_choice"),
    (MULTI, "CRM", None, "invalid_type"),
    (BOOL, True, True, None),
    (BOOL, "true", None, "invalid_type"),
])
def test_values(definition: FieldDef, value: Any, stored: Any, code: str | None) -> None:
    assert validate_value(definition, value) == ((stored, None) if code is None else (None, code))


def test_merge_required_unknown_clear_and_stale_keys() -> None:
    required = FieldDef("tier", "Tier", "single_select", required=True, options=("A", "B"))
    values, errors = merge_values([required, BOOL], {"tier": "A", "vip": True, "gone": 1}, {"vip": None})
    assert (values, errors) == ({"tier": "A"}, [])  # "gone" has no definition any more: dropped
    _, errors = merge_values([required], {}, {"nope": 1})
    assert {(e.field, e.code) for e in errors} == {
        ("custom_fields.nope", "unknown_custom_field"), ("custom_fields.tier", "required")}
    _, errors = merge_values([required], {"tier": "A"}, {"tier": None})
    assert [(e.field, e.code) for e in errors] == [("custom_fields.tier", "required")]


@pytest.mark.parametrize("definition, field, code", [
    (FieldDef("Bad", "x", "text"), "key", "invalid_key"),
    (FieldDef("ok", "", "text"), "label", "required"),
    (FieldDef("ok", "x", "colour"), "type", "invalid_choice"),
    (FieldDef("ok", "x", "single_select"), "options", "required"),
    (FieldDef("ok", "x", "multi_select", options=("a", "a")), "options", "invalid_options"),
    (FieldDef("ok", "x", "text", options=("a",)), "options", "not_applicable"),
    (FieldDef("ok", "x", "number", pattern="x"), "pattern", "not_applicable"),
    (FieldDef("ok", "x", "text", pattern="("), "pattern", "invalid_pattern"),
    (FieldDef("ok", "x", "number", min="abc"), "min", "invalid_bound"),
    (FieldDef("ok", "x", "date", max="2024-13-01"), "max", "invalid_bound"),
    (FieldDef("ok", "x", "number", min="10", max="1"), "max", "invalid_bound"),
    (FieldDef("ok", "x", "boolean", min="1"), "min", "not_applicable"),
])
def test_definition_rules(definition: FieldDef, field: str, code: str) -> None:
    assert [(e.field, e.code) for e in definition_errors(definition)] == [(field, code)]


@pytest.mark.parametrize("definition, raw, value", [
    (NUMBER, "20", 20), (NUMBER, "2.5", 2.5), (BOOL, "TRUE", True), (MULTI, "CRM", ["CRM"]), (SINGLE, "A", "A"),
])
def test_filter_values(definition: FieldDef, raw: str, value: Any) -> None:
    assert filter_value(definition, raw) == (value, None)
