"""Per-tenant customer settings: the code pattern, the allowed status transitions, and whether
industry and region must come from the dictionaries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer.cleaning import STATUSES
from crm_customers.customer.tables import customer_settings
from crm_platform.errors import FieldError, InvalidInput, PreconditionFailed

# {region} {industry} {year} {yy} {month} {day} {seq} {seq:03}
TOKEN_RE: Final = re.compile(r"\{([a-z]+)(?::(0\d))?\}")
TOKENS: Final = frozenset({"region", "industry", "year", "yy", "month", "day", "seq"})
MAX_PATTERN: Final = 64
SEQ_MARK: Final = "{#}"  # literal text of a pattern cannot hold braces
DUPLICATE_POLICIES: Final = ("warn", "block")


@dataclass(frozen=True)
class Settings:
    code_pattern: str
    status_transitions: dict[str, list[str]]
    enforce_dictionaries: bool
    version: int
    updated_at: Any = None
    # Likely duplicates on create/update: "warn" (reported) or "block" (409), crm_customers/duplicates.
    duplicate_policy: str = "warn"


def pattern_errors(pattern: str) -> list[FieldError]:
    field = "code_pattern"
    if not pattern or len(pattern) > MAX_PATTERN:
        return [FieldError(field, "invalid_code_pattern", f"1-{MAX_PATTERN} characters")]
    tokens = TOKEN_RE.findall(pattern)
    if any(name not in TOKENS for name, _ in tokens):
        unknown = sorted({name for name, _ in tokens if name not in TOKENS})
        return [FieldError(field, "invalid_code_pattern", f"unknown placeholder {{{unknown[0]}}}")]
    if [name for name, _ in tokens].count("seq") != 1:
        return [FieldError(field, "invalid_code_pattern", "the pattern needs exactly one {seq} or {seq:0N}")]
    if any(width and name != "seq" for name, width in tokens):
        return [FieldError(field, "invalid_code_pattern", "only {seq} takes a width")]
    literal = TOKEN_RE.sub("", pattern)
    if "{" in literal or "}" in literal or not re.fullmatch(r"[\w\-./]*", literal):
        return [FieldError(field, "invalid_code_pattern", "literal text may hold letters, digits, - _ . / only")]
    return []


def render_prefix(pattern: str, *, region: str, industry: str, today: date) -> tuple[str, int]:
    """The pattern with everything but the sequence filled in (SEQ_MARK stands for it), and the
    sequence's zero-padded width. Customers with equal rendered prefixes share one counter."""
    width = 1
    values = {"region": region, "industry": industry, "year": f"{today:%Y}", "yy": f"{today:%y}",
              "month": f"{today:%m}", "day": f"{today:%d}"}

    def fill(match: re.Match[str]) -> str:
        nonlocal width
        name, pad = match.group(1), match.group(2)
        if name == "seq":
            width = int(pad[1:]) if pad else 1
            return SEQ_MARK
        return values[name]

    return TOKEN_RE.sub(fill, pattern), width


def format_code(prefix: str, width: int, number: int) -> str:
    return prefix.replace(SEQ_MARK, f"{number:0{width}d}")


def pattern_needs(pattern: str) -> set[str]:
    return {name for name, _ in TOKEN_RE.findall(pattern)} & {"region", "industry"}


def transitions_errors(transitions: dict[str, list[str]]) -> list[FieldError]:
    errors = []
    for source, targets in transitions.items():
        if source not in STATUSES:
            errors.append(FieldError(f"status_transitions.{source}", "invalid_choice",
                                     f"status must be one of {', '.join(STATUSES)}"))
            continue
        for target in targets:
            if target not in STATUSES or target == source:
                errors.append(FieldError(f"status_transitions.{source}", "invalid_choice",
                                         f"{target!r} is not another status"))
    return errors


def from_row(row: Any) -> Settings:
    return Settings(row.code_pattern, {k: list(v) for k, v in row.status_transitions.items()},
                    row.enforce_dictionaries, row.version, row.updated_at, row.duplicate_policy)


async def get(session: AsyncSession) -> Settings:
    row = (await session.execute(sa.select(customer_settings).where(customer_settings.c.id == 1))).one()
    return from_row(row)


async def update(
    session: AsyncSession,
    *,
    code_pattern: str | None,
    status_transitions: dict[str, list[str]] | None,
    enforce_dictionaries: bool | None,
    expected_version: int,
    duplicate_policy: str | None = None,
) -> Settings:
    current = await get(session)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    if code_pattern is not None:
        pattern = code_pattern.strip()
        errors += pattern_errors(pattern)
        values["code_pattern"] = pattern
    if status_transitions is not None:
        errors += transitions_errors(status_transitions)
        values["status_transitions"] = {k: sorted(set(v), key=STATUSES.index) for k, v in status_transitions.items()
                                        if k in STATUSES}
    if enforce_dictionaries is not None:
        values["enforce_dictionaries"] = enforce_dictionaries
    if duplicate_policy is not None:
        if duplicate_policy in DUPLICATE_POLICIES:
            values["duplicate_policy"] = duplicate_policy
        else:
            errors.append(FieldError("duplicate_policy", "invalid_choice", "must be warn or block"))
    if errors:
        raise InvalidInput(errors)
    if expected_version and expected_version != current.version:
        raise PreconditionFailed("the settings were changed by someone else", code="stale_version",
                                 extra={"current_version": current.version})
    if not values:
        return current
    row = (
        await session.execute(
            sa.update(customer_settings)
            .where(customer_settings.c.id == 1)
            .values(**values, version=customer_settings.c.version + 1, updated_at=sa.func.now())
            .returning(customer_settings)
        )
    ).one()
    return from_row(row)
