"""Normalisation and validation of customer input: every rule that needs no database.

Each violation is a `FieldError(field, code, message)` with a stable code (see docs/customers.md);
messages here are English, the gateway localises them by code.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_customers.customer.checksums import credit_code_error, resident_id_error
from crm_platform.errors import FieldError

TYPES: Final = ("individual", "enterprise")
STATUSES: Final = ("potential", "intent", "won", "lost")
MAX_TEXT: Final = 200
MAX_LONG_TEXT: Final = 2000
MAX_EMPLOYEES: Final = 10_000_000
MAX_REVENUE: Final = Decimal("999999999999999999.99")
SHORT_TEXT_FIELDS: Final = ("name", "code", "industry", "region", "contact_person", "source")
LONG_TEXT_FIELDS: Final = ("needs", "notes")
_CURRENCY_RE: Final = re.compile(r"^[A-Z]{3}$")
_CODE_RE: Final = re.compile(r"^[\w\-./]+$")

MESSAGES: Final[dict[str, str]] = {
    "required": "this field is required",
    "too_long": "too long",
    "invalid_phone": "not a valid phone number",
    "not_mobile": "this is a landline number; put it in phone",
    "invalid_email": "not a valid email address",
    "invalid_choice": "not one of the allowed values",
    "invalid_date": "must be a date as YYYY-MM-DD",
    "date_in_future": "must not be in the future",
    "invalid_number": "must be a whole number",
    "invalid_decimal": "must be a decimal number such as 1250000.00",
    "out_of_range": "out of the allowed range",
    "invalid_currency": "must be an ISO 4217 currency code such as CNY",
    "invalid_credit_code": "a unified social credit code has 18 characters (digits and capitals without I, O, Z, S, V)",
    "credit_code_checksum": "the check character of this unified social credit code is wrong",
    "invalid_resident_id": "a resident ID number has 17 digits and a check digit or X",
    "invalid_birth_date": "the birth date in this resident ID number does not exist",
    "resident_id_checksum": "the check digit of this resident ID number is wrong",
    "invalid_id": "not a valid id",
    "invalid_code": "a code may hold letters, digits, '-', '_', '.' and '/' only",
    "contact_required": "a mobile number, a phone number or an email is required",
}


def error(field: str, code: str) -> FieldError:
    return FieldError(field, code, MESSAGES.get(code, code))


def clean_text(value: str) -> str:
    """Trim, and fold full-width characters to half-width (NFKC), as pasted data often has them."""
    return unicodedata.normalize("NFKC", value).strip()


def _parse_phone(value: str) -> phonenumbers.PhoneNumber:
    number = phonenumbers.parse(value, "CN")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(value)
    return number


def normalise_mobile(value: str) -> str:
    """E.164; numbers without a country code are read as Chinese (11-digit mobiles)."""
    return phonenumbers.format_number(_parse_phone(value), phonenumbers.PhoneNumberFormat.E164)


def is_landline(value: str) -> bool:
    """A Chinese fixed-line number (in the mobile field, a mistake worth pointing out). Foreign
    numbers are not judged: many countries' numbering cannot tell mobiles apart reliably."""
    number = _parse_phone(value)
    return (
        phonenumbers.region_code_for_number(number) == "CN"
        and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
    )


def normalise_phone(value: str) -> str:
    """E.164 for any valid number; a Chinese landline written with its area code (010-12345678,
    0755 1234 5678) keeps it (+861012345678). International numbers need their + prefix."""
    return phonenumbers.format_number(_parse_phone(value), phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    return validate_email(value, check_deliverability=False).normalized


def parse_date(value: str) -> date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(value)
    return date.fromisoformat(value)


def clean_credit_code(value: str) -> tuple[str, str | None]:
    code = value.replace(" ", "").upper()
    return code, credit_code_error(code)


def clean_resident_id(value: str) -> tuple[str, str | None]:
    """Validation only: storing the number (encrypted) belongs to the sensitive-fields work."""
    number = value.replace(" ", "").upper()
    return number, resident_id_error(number)


@dataclass
class CleanResult:
    values: dict[str, Any]
    errors: list[FieldError]


def _clean_one(field: str, text: str) -> tuple[Any, str | None]:
    """(stored value, error code or None) for one sent field; empty text clears the field."""
    if field in SHORT_TEXT_FIELDS and len(text) > MAX_TEXT:
        return None, "too_long"
    if field in LONG_TEXT_FIELDS and len(text) > MAX_LONG_TEXT:
        return None, "too_long"
    if field == "name":
        return (text, None) if text else (None, "required")
    if field == "code":
        return (text, None) if not text or _CODE_RE.match(text) else (None, "invalid_code")
    if not text:
        return {"employees": None, "annual_revenue": None, "first_contact_date": None, "owner_id": None}.get(
            field, ""
        ), None
    if field == "mobile":
        try:
            if is_landline(text):
                return None, "not_mobile"
            return normalise_mobile(text), None
        except (phonenumbers.NumberParseException, ValueError):
            return None, "invalid_phone"
    if field == "phone":
        try:
            return normalise_phone(text), None
        except (phonenumbers.NumberParseException, ValueError):
            return None, "invalid_phone"
    if field == "email":
        try:
            return normalise_email(text), None
        except EmailNotValidError:
            return None, "invalid_email"
    if field == "type":
        return (text, None) if text in TYPES else (None, "invalid_choice")
    if field == "status":
        return (text, None) if text in STATUSES else (None, "invalid_choice")
    if field == "first_contact_date":
        try:
            day = parse_date(text)
        except ValueError:
            return None, "invalid_date"
        return (day, None) if day <= date.today() else (None, "date_in_future")
    if field == "employees":
        if not re.fullmatch(r"\d{1,9}", text):
            return None, "invalid_number" if not re.fullmatch(r"-?\d+", text) else "out_of_range"
        count = int(text)
        return (count, None) if count <= MAX_EMPLOYEES else (None, "out_of_range")
    if field == "annual_revenue":
        try:
            amount = Decimal(text.replace(",", ""))
        except InvalidOperation:
            return None, "invalid_decimal"
        if not amount.is_finite() or amount.as_tuple().exponent < -2:  # type: ignore[operator]
            return None, "invalid_decimal"
        if amount < 0 or amount > MAX_REVENUE:
            return None, "out_of_range"
        return amount.quantize(Decimal("0.01")), None
    if field == "annual_revenue_currency":
        code = text.upper()
        return (code, None) if _CURRENCY_RE.match(code) else (None, "invalid_currency")
    if field == "credit_code":
        code, problem = clean_credit_code(text)
        return (code, None) if problem is None else (None, problem)
    if field == "owner_id":
        try:
            return uuid.UUID(text), None
        except ValueError:
            return None, "invalid_id"
    return text, None


def clean_fields(raw: dict[str, str], *, creating: bool) -> CleanResult:
    """Cleans the fields that were sent. On create, also applies defaults and required rules."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, value in raw.items():
        cleaned, problem = _clean_one(field, clean_text(value))
        if problem is not None:
            errors.append(error(field, problem))
        else:
            values[field] = cleaned
    if creating:
        if "name" not in raw:
            errors.append(error("name", "required"))
        values.setdefault("type", "enterprise")
        values.setdefault("status", "potential")
    return CleanResult(values, errors)


def check_reachable(merged: dict[str, Any], errors: list[FieldError]) -> list[FieldError]:
    """At least one way to reach the customer (not reported on top of an invalid one)."""
    if any(e.field in ("mobile", "email", "phone") for e in errors):
        return []
    if not merged.get("mobile") and not merged.get("email") and not merged.get("phone"):
        return [error("mobile", "contact_required")]
    return []
