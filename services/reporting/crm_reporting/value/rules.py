"""The tenant's customer-value rules (docs/reporting.md, "Customer value"): which currency segments
are judged in, the segment thresholds and the RFM score bands. Defaults until an admin changes them;
stored as one row in reporting's Postgres `value_rules` (migration r0100)."""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_platform.errors import FieldError, InvalidInput
from crm_reporting.scope.tables import value_rules

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,4})?$")
MAX_DAYS: Final = 3650


@dataclass(frozen=True)
class ValueRules:
    currency: str = "CNY"
    # Segments, first match wins: high value (12-month spend at least this), then low value (no order
    # for more than these days), then potential (predicted 3-year value at least this), else normal.
    high_value_annual_spend: str = "100000"
    potential_predicted_value: str = "50000"
    low_value_inactive_days: int = 365
    # RFM bands, four ascending thresholds each: score 5 at the best band, 1 below the last.
    # Recency: days since the last order at most 30 -> 5, 90 -> 4, 180 -> 3, 365 -> 2, else 1.
    recency_days: tuple[int, int, int, int] = (30, 90, 180, 365)
    # Frequency: orders in 12 months at least 1 -> 2, 3 -> 3, 6 -> 4, 12 -> 5.
    frequency_orders: tuple[int, int, int, int] = (1, 3, 6, 12)
    # Monetary: 12-month spend at least these amounts -> 2, 3, 4, 5.
    monetary_amounts: tuple[str, str, str, str] = ("1000", "10000", "50000", "100000")
    version: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ascending(name: str, values: list[Any], errors: list[FieldError], parse: Any) -> tuple[Any, ...]:
    if not isinstance(values, list | tuple) or len(values) != 4:
        errors.append(FieldError(name, "invalid_bands", "four ascending thresholds"))
        return ()
    try:
        parsed = [parse(v) for v in values]
    except (ValueError, TypeError, InvalidOperation):
        errors.append(FieldError(name, "invalid_bands", "four ascending thresholds"))
        return ()
    if any(a >= b for a, b in itertools.pairwise(parsed)) or parsed[0] < 0:
        errors.append(FieldError(name, "invalid_bands", "four ascending, non-negative thresholds"))
    return tuple(values)


def _amount(value: Any) -> Decimal:
    if not isinstance(value, str) or not _AMOUNT.match(value):
        raise ValueError("not a decimal string")
    return Decimal(value)


def _days(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DAYS:
        raise ValueError("not a day count")
    return value


def check_rules(raw: dict[str, Any]) -> ValueRules:
    """A complete rule set from a request body; every problem is a field error."""
    errors: list[FieldError] = []
    defaults = ValueRules()
    currency = raw.get("currency", defaults.currency)
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        errors.append(FieldError("currency", "invalid_currency", "an ISO 4217 code such as CNY"))
    amounts = {}
    for name in ("high_value_annual_spend", "potential_predicted_value"):
        value = raw.get(name, getattr(defaults, name))
        try:
            _amount(value)
        except ValueError:
            errors.append(FieldError(name, "invalid_decimal", "a decimal string such as \"100000\""))
        amounts[name] = value
    inactive = raw.get("low_value_inactive_days", defaults.low_value_inactive_days)
    try:
        _days(inactive)
    except ValueError:
        errors.append(FieldError("low_value_inactive_days", "out_of_range", f"whole days 0-{MAX_DAYS}"))
    recency = _ascending("recency_days", list(raw.get("recency_days", defaults.recency_days)), errors, _days)
    frequency = _ascending("frequency_orders", list(raw.get("frequency_orders", defaults.frequency_orders)),
                           errors, _days)
    monetary = _ascending("monetary_amounts", list(raw.get("monetary_amounts", defaults.monetary_amounts)),
                          errors, _amount)
    unknown = set(raw) - set(defaults.as_dict())
    errors += [FieldError(name, "unknown_field", "not a value rule") for name in sorted(unknown)]
    if errors:
        raise InvalidInput(errors)
    return ValueRules(currency, amounts["high_value_annual_spend"], amounts["potential_predicted_value"], inactive,
                      recency, frequency, monetary)


class ValueRuleStore:
    async def read(self, session: AsyncSession) -> ValueRules:
        row = (await session.execute(sa.select(value_rules.c.rules, value_rules.c.version))).first()
        if row is None:
            return ValueRules()
        stored = dict(row.rules)
        stored.pop("version", None)
        rules = check_rules(stored)
        return ValueRules(**{**rules.as_dict(), "version": int(row.version)})

    async def write(self, session: AsyncSession, raw: dict[str, Any], actor: str) -> ValueRules:
        rules = check_rules(raw)
        body = {k: v for k, v in rules.as_dict().items() if k != "version"}
        now = datetime.now(UTC)
        statement = pg_insert(value_rules).values(id=1, rules=body, version=1, updated_at=now, updated_by=actor)
        version = (await session.execute(statement.on_conflict_do_update(
            index_elements=[value_rules.c.id],
            set_={"rules": body, "version": value_rules.c.version + 1, "updated_at": now, "updated_by": actor},
        ).returning(value_rules.c.version))).scalar_one()
        return ValueRules(**{**rules.as_dict(), "version": int(version)})


value_rule_store = ValueRuleStore()
