"""Normalising, validating and masking sensitive values."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from crm_customers.customer.checksums import resident_id_error

RESIDENT_ID: Final = "resident_id"
BANK_CARD: Final = "bank_card"
FIELDS: Final = (RESIDENT_ID, BANK_CARD)

_SEPARATORS: Final = re.compile(r"[\s\-]")


def normalise(field: str, raw: str) -> str:
    """NFKC (full-width digits), no spaces or hyphens, upper case (the X of an ID)."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def bank_card_error(number: str) -> str | None:
    """`invalid_bank_card` (not 12-19 digits) or `bank_card_checksum` (Luhn); None when valid."""
    if not re.fullmatch(r"\d{12,19}", number):
        return "invalid_bank_card"
    if not luhn_ok(number):
        return "bank_card_checksum"
    return None


def error(field: str, normalised: str) -> str | None:
    return resident_id_error(normalised) if field == RESIDENT_ID else bank_card_error(normalised)


def mask(field: str, normalised: str) -> str:
    """IDs: first 3 and last 4 (`110***********1234`); cards: first 4 and last 4 with the hidden
    digits in groups of four (`6222 **** **** 1234`, 19 digits: `6222 **** **** *** 1234`)."""
    if not normalised:
        return ""
    if field == RESIDENT_ID:
        return normalised[:3] + "*" * (len(normalised) - 7) + normalised[-4:]
    stars = "*" * (len(normalised) - 8)
    return " ".join([normalised[:4], *(stars[i:i + 4] for i in range(0, len(stars), 4)), normalised[-4:]])
