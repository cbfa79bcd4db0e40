"""Password rules: the tenant's policy (minimum length, common passwords) plus rules that always
hold (not containing the email's local part, a sane maximum length).

The common-password list is the 30,000-entry `passwords` frequency list shipped by the maintained
`zxcvbn` package (Dropbox's zxcvbn, ported to Python; the list is derived from leaked-password
corpora). It is compared case-insensitively against the whole password."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from crm_platform.errors import FieldError

DEFAULT_MIN_LENGTH: Final = 10
MIN_MIN_LENGTH: Final = 8
MAX_MIN_LENGTH: Final = 128
MAX_PASSWORD_LENGTH: Final = 256
# Shorter local parts ("li@...") would forbid too many ordinary passwords to be useful.
MIN_LOCAL_PART: Final = 3


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int = DEFAULT_MIN_LENGTH
    reject_common_passwords: bool = True
    mfa_required_for_admins: bool = False
    version: int = 0


DEFAULT_POLICY: Final = PasswordPolicy()


@cache
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()


def password_errors(
    password: str, *, email: str, policy: PasswordPolicy = DEFAULT_POLICY, field: str = "password"
) -> list[FieldError]:
    """Every rule the password breaks, as field errors (codes are stable, messages English)."""
    errors: list[FieldError] = []
    if len(password) < policy.min_length:
        errors.append(FieldError(
            field, "password_too_short", f"password must have at least {policy.min_length} characters"
        ))
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors.append(FieldError(
            field, "password_too_long", f"password must have at most {MAX_PASSWORD_LENGTH} characters"
        ))
    if policy.reject_common_passwords and is_common(password):
        errors.append(FieldError(field, "common_password", "this password is among the most common ones"))
    local = email.strip().lower().partition("@")[0]
    if len(local) >= MIN_LOCAL_PART and local in password.lower():
        errors.append(FieldError(field, "password_contains_email", "password must not contain your email name"))
    return errors
