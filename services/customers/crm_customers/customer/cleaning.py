"""Normalisation and validation of customer input (issue 4 extends the rules)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_platform.errors import FieldError

TYPES = ("individual", "enterprise")
STATUSES = ("potential", "intent", "won", "lost")
MAX_TEXT = 200


def clean_text(value: str) -> str:
    """Trim, and fold full-width characters to half-width (NFKC), as pasted data often has them."""
    return unicodedata.normalize("NFKC", value).strip()


def normalise_mobile(value: str) -> str:
    """E.164; numbers without a country code are read as Chinese."""
    number = phonenumbers.parse(value, "CN")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    return validate_email(value, check_deliverability=False).normalized


@dataclass
class CleanResult:
    values: dict[str, str]
    errors: list[FieldError]


def clean_fields(raw: dict[str, str], *, creating: bool) -> CleanResult:
    """Cleans the fields that were sent. On create, also applies defaults and required rules."""
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for field, value in raw.items():
        text = clean_text(value)
        if field in ("name", "code", "industry", "region") and len(text) > MAX_TEXT:
            errors.append(FieldError(field, "too_long", f"at most {MAX_TEXT} characters"))
            continue
        if field == "name" and not text:
            errors.append(FieldError("name", "required", "name is required"))
            continue
        if field == "mobile" and text:
            try:
                text = normalise_mobile(text)
            except (phonenumbers.NumberParseException, ValueError):
                errors.append(FieldError("mobile", "invalid_phone", "not a valid phone number"))
                continue
        if field == "email" and text:
            try:
                text = normalise_email(text)
            except EmailNotValidError:
                errors.append(FieldError("email", "invalid_email", "not a valid email address"))
                continue
        if field == "type" and text not in TYPES:
            errors.append(FieldError("type", "invalid_choice", f"type must be one of {', '.join(TYPES)}"))
            continue
        if field == "status" and text not in STATUSES:
            errors.append(FieldError("status", "invalid_choice", f"status must be one of {', '.join(STATUSES)}"))
            continue
        values[field] = text
    if creating:
        if "name" not in raw:
            errors.append(FieldError("name", "required", "name is required"))
        values.setdefault("type", "enterprise")
        values.setdefault("status", "potential")
    return CleanResult(values, errors)


def check_reachable(merged: dict[str, str], errors: list[FieldError]) -> list[FieldError]:
    """At least one way to reach the customer (not reported on top of an invalid mobile/email)."""
    if any(e.field in ("mobile", "email") for e in errors):
        return []
    if not merged.get("mobile") and not merged.get("email"):
        return [FieldError("mobile", "contact_required", "a mobile number or an email is required")]
    return []
