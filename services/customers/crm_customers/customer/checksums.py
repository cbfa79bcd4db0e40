"""Check digits of Chinese identifiers.

Unified social credit code (统一社会信用代码), GB 32100-2015 "法人和其他组织统一社会信用代码编码规则":
18 characters from the 31-character set 0-9 and the capitals without I, O, Z, S, V. Position 1 is
the registering authority, 2 the organisation type, 3-8 the administrative division (digits),
9-17 the organisation code, 18 the check character. With character values v_i (0..30, by
position in the set) and weights W_i = 3^(i-1) mod 31 for i = 1..17, the check character's value
is C18 = 31 - (sum(v_i * W_i) mod 31), where 31 is written as 0 (GB 32100-2015 clause 4.3 and
Annex B; the weights are 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28).

Resident identity number (公民身份号码), GB 11643-1999 "公民身份号码": 6 digits of address code, 8
of birth date (YYYYMMDD), 3 of sequence code and 1 check character. The check is ISO 7064:1983
MOD 11-2: weights W_i = 2^(18-i) mod 11 for i = 1..17 (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2), and
the check value is (12 - (sum(a_i * W_i) mod 11)) mod 11, written X when it is 10 (GB 11643-1999
clause 8.2, which cites ISO 7064 MOD 11-2).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

CREDIT_CODE_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
_CREDIT_CODE_RE: Final = re.compile(rf"^[{CREDIT_CODE_CHARSET}]{{2}}\d{{6}}[{CREDIT_CODE_CHARSET}]{{10}}$")

RESIDENT_ID_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_RESIDENT_ID_RE: Final = re.compile(r"^\d{17}[\dX]$")


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def credit_code_error(code: str) -> str | None:
    """None when valid; otherwise the stable error code: `invalid_credit_code` (shape) or
    `credit_code_checksum` (right shape, wrong check character). Expects upper case."""
    if not _CREDIT_CODE_RE.match(code):
        return "invalid_credit_code"
    if credit_code_check_char(code[:17]) != code[17]:
        return "credit_code_checksum"
    return None


def resident_id_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def resident_id_error(number: str) -> str | None:
    """None when valid; otherwise `invalid_resident_id` (shape), `invalid_birth_date` (no such
    date, or in the future) or `resident_id_checksum`. Expects upper case (X)."""
    if not _RESIDENT_ID_RE.match(number):
        return "invalid_resident_id"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "invalid_birth_date"
    if born > date.today() or born.year < 1800:
        return "invalid_birth_date"
    if resident_id_check_char(number[:17]) != number[17]:
        return "resident_id_checksum"
    return None
