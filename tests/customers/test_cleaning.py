"""Validation tables for every cleaning rule (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from crm_customers.customer.checksums import credit_code_error, resident_id_error
from crm_customers.customer.cleaning import check_reachable, clean_fields, clean_resident_id, clean_text

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize("raw, expected", [
    ("  北京云帆  ", "北京云帆"), ("ＡＢＣ１２３", "ABC123"), ("　全角空格　", "全角空格"), ("（括号）", "(括号)"),
])
def test_trim_and_full_width_to_half_width(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


# (field, raw, stored value) for accepted input; (field, raw, error code) for rejected.
ACCEPTED: list[tuple[str, str, Any]] = [
    ("mobile", "13800138000", "+8613800138000"),
    ("mobile", "138-0013-8000", "+8613800138000"),
    ("mobile", "１３８００１３８０００", "+8613800138000"),
    ("mobile", "+86 138 0013 8000", "+8613800138000"),
    ("mobile", "+44 7911 123456", "+447911123456"),
    ("mobile", "+44 20 7946 0958", "+442079460958"),  # foreign numbers are not judged mobile or fixed
    ("phone", "010-62345678", "+861062345678"),
    ("phone", "0755 2345 6789", "+8675523456789"),
    ("phone", "13800138000", "+8613800138000"),
    ("phone", "+1 650-253-0000", "+16502530000"),
    ("email", " Li.Lei@Example.COM ", "Li.Lei@example.com"),
    ("credit_code", "91350100m000100y43", "91350100M000100Y43"),
    ("credit_code", "914403001922038216", "914403001922038216"),
    ("credit_code", "91330100716105852F", "91330100716105852F"),
    ("first_contact_date", "2024-02-29", date(2024, 2, 29)),
    ("employees", "250", 250),
    ("employees", "", None),
    ("annual_revenue", "1,250,000.5", Decimal("1250000.50")),
    ("annual_revenue_currency", "usd", "USD"),
    ("type", "individual", "individual"),
    ("code", "VIP-2024/001", "VIP-2024/001"),
    ("notes", "", ""),
]
REJECTED: list[tuple[str, str, str]] = [
    ("mobile", "12345", "invalid_phone"),
    ("mobile", "1380013800", "invalid_phone"),  # 10 digits
    ("mobile", "138001380001", "invalid_phone"),  # 12 digits
    ("mobile", "010-62345678", "not_mobile"),
    ("phone", "12", "invalid_phone"),
    ("phone", "abc", "invalid_phone"),
    ("email", "not-an-email", "invalid_email"),
    ("email", "a@b", "invalid_email"),
    ("credit_code", "91350100M000100Y44", "credit_code_checksum"),
    ("credit_code", "914403001922038217", "credit_code_checksum"),
    ("credit_code", "91350100M000100Y4", "invalid_credit_code"),
    ("credit_code", "9135010OM000100Y43", "invalid_credit_code"),  # O is not in the character set
    ("credit_code", "91350100I000100Y43", "invalid_credit_code"),
    ("first_contact_date", "2023-02-29", "invalid_date"),
    ("first_contact_date", "2024/01/01", "invalid_date"),
    ("first_contact_date", TOMORROW, "date_in_future"),
    ("employees", "many", "invalid_number"),
    ("employees", "-1", "out_of_range"),
    ("employees", "99999999999", "out_of_range"),
    ("annual_revenue", "abc", "invalid_decimal"),
    ("annual_revenue", "1.234", "invalid_decimal"),
    ("annual_revenue", "-5", "out_of_range"),
    ("annual_revenue", "NaN", "invalid_decimal"),
    ("annual_revenue_currency", "RMB1", "invalid_currency"),
    ("type", "robot", "invalid_choice"),
    ("status", "happy", "invalid_choice"),
    ("owner_id", "not-a-uuid", "invalid_id"),
    ("name", "   ", "required"),
    ("name", "x" * 201, "too_long"),
    ("notes", "x" * 2001, "too_long"),
    ("code", "VIP 1", "invalid_code"),
]


@pytest.mark.parametrize("field, raw, stored", ACCEPTED)
def test_accepted(field: str, raw: str, stored: Any) -> None:
    result = clean_fields({field: raw}, creating=False)
    assert result.errors == []
    assert result.values[field] == stored


@pytest.mark.parametrize("field, raw, code", REJECTED)
def test_rejected_with_stable_code(field: str, raw: str, code: str) -> None:
    result = clean_fields({field: raw}, creating=False)
    assert [(e.field, e.code) for e in result.errors] == [(field, code)]
    assert field not in result.values


def test_create_defaults_and_required_name() -> None:
    result = clean_fields({"mobile": "13800138000"}, creating=True)
    assert [(e.field, e.code) for e in result.errors] == [("name", "required")]
    assert result.values["type"] == "enterprise" and result.values["status"] == "potential"


@pytest.mark.parametrize("values, errors, expected", [
    ({}, [], ["contact_required"]),
    ({"phone": "+861062345678"}, [], []),
    ({"email": "a@example.com"}, [], []),
    ({}, [("mobile", "invalid_phone")], []),  # not reported on top of an invalid number
])
def test_at_least_one_way_to_reach(values: dict[str, str], errors: list[tuple[str, str]],
                                   expected: list[str]) -> None:
    from crm_platform.errors import FieldError

    found = check_reachable(values, [FieldError(f, c, "") for f, c in errors])
    assert [e.code for e in found] == expected


# Unified social credit codes (GB 32100-2015): real ones, and the same with a wrong check character.
@pytest.mark.parametrize("code", [
    "91350100M000100Y43",  # the example in GB 32100-2015
    "914403001922038216",
    "91330100716105852F",
    "91440300708461136T",
    "91110108551385082Q",
])
def test_credit_code_valid(code: str) -> None:
    assert credit_code_error(code) is None
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert credit_code_error(wrong) == "credit_code_checksum"


# Resident ID numbers (GB 11643-1999, ISO 7064 MOD 11-2).
@pytest.mark.parametrize("number, code", [
    ("11010519491231002X", None),  # the example in GB 11643-1999
    ("11010519491231002x", None),  # lower-case x is read as X
    ("440524188001010014", None),
    ("110105194912310021", "resident_id_checksum"),
    ("440524188001010015", "resident_id_checksum"),
    ("11010519491331002X", "invalid_birth_date"),  # month 13
    ("11010519490230002X", "invalid_birth_date"),  # 30 February
    ("11010529991231002X", "invalid_birth_date"),  # in the future
    ("1101051949123100", "invalid_resident_id"),
    ("11010519491231002Y", "invalid_resident_id"),
    ("A1010519491231002X", "invalid_resident_id"),
])
def test_resident_id(number: str, code: str | None) -> None:
    assert clean_resident_id(number)[1] == code
    assert resident_id_error(number.upper()) == code
