"""Duplicates on the way in: keys kept current on every customer write, and likely duplicates of
a customer being created or updated, with the tenant's `duplicate_policy` (warn | block)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from crm_customers.customer import access
from crm_customers.duplicates import keys as match
from crm_customers.duplicates import repository, scoring
from crm_platform.auth import Principal, Scope
from crm_platform.errors import Conflict

POLICIES: Final = ("warn", "block")
# At most this many candidates are reported (highest confidence first).
MAX_REPORTED: Final = 10
# Customer columns the keys are made of: an update touching one of them refreshes the keys.
MATCH_KEY_COLUMNS: Final = frozenset(repository.KEY_COLUMNS)


@dataclass(frozen=True)
class PossibleDuplicate:
    """`id`, `code` and `name` are empty when the customer is outside the caller's data scope:
    the caller learns only that such a customer exists."""

    id: str
    code: str
    name: str
    matched_on: list[str]
    confidence: float
    outside_scope: bool = False

    def as_dict(self) -> dict[str, Any]:
        if self.outside_scope:
            return {"outside_scope": True, "matched_on": self.matched_on, "confidence": self.confidence}
        return {"id": self.id, "code": self.code, "name": self.name, "matched_on": self.matched_on,
                "confidence": self.confidence}


async def refresh_keys(session: AsyncSession, row: Any, *, replace: bool = True) -> None:
    """Stores the customer's match keys from its row (every insert and every update touching a
    key column calls this, see customer/repository.py); a new customer has none to replace."""
    await repository.replace_keys(session, row.id, match.keys_of(row._mapping), replace=replace)


def _reasons(mine: Mapping[str, Any], mine_keys: set[tuple[str, str]], other: Any) -> set[str]:
    theirs = match.keys_of(other._mapping)
    reasons = {kind for kind, _ in mine_keys & theirs if kind != "name_del"}
    my_name = match.name_key(str(mine.get("name") or ""))
    their_name = match.name_key(other.name)
    if "name" not in reasons and len(my_name) >= match.MIN_FUZZY_LEN and scoring.one_edit_apart(my_name, their_name):
        reasons.add("name_similar")
    contact = str(mine.get("contact_person") or "").strip()
    if contact and contact == other.contact_person.strip():
        reasons.add("contact_person")
    domain = match.email_domain(str(mine.get("email") or ""))
    if domain and domain == match.email_domain(other.email):
        reasons.add("email_domain")
    return reasons


async def find(
    session: AsyncSession, caller: Principal, values: Mapping[str, Any], exclude: uuid.UUID | None = None
) -> list[PossibleDuplicate]:
    """Likely duplicates of a customer with these (cleaned, stored-form) values among the
    tenant's live customers other than `exclude`, highest confidence first."""
    mine_keys = match.keys_of(values)
    exact = [(k, v) for k, v in mine_keys if k != "name_del"]
    key = match.name_key(str(values.get("name") or ""))
    hits = await repository.matching_keys(session, exact, sorted(match.fuzzy_probes(key)), exclude)
    ids = sorted({h.customer_id for h in hits})
    if not ids:
        return []
    rows = await repository.customer_rows(session, ids)
    short = len(key) < match.MIN_FUZZY_LEN
    scored: list[tuple[float, list[str], Any]] = []
    for row in rows:
        evidence = _reasons(values, mine_keys, row)
        score = scoring.confidence(evidence, short_name=short)
        if score >= scoring.MIN_CONFIDENCE:
            scored.append((score, scoring.ordered(evidence), row))
    scored.sort(key=lambda s: (-s[0], str(s[2].id)))
    visible = await repository.visible_ids(session, [s[2].id for s in scored], access.scope_clause(caller))
    show_name = access.readable(caller, "name")
    found: list[PossibleDuplicate] = []
    hidden: dict[str, float] = defaultdict(float)
    for score, reasons, row in scored:
        if row.id in visible:
            found.append(PossibleDuplicate(str(row.id), row.code, row.name if show_name else "", reasons, score))
        else:
            for reason in reasons:
                hidden[reason] = max(hidden[reason], score)
    found = found[:MAX_REPORTED]
    if hidden:  # one entry for all of them: not even how many there are
        found.append(PossibleDuplicate("", "", "", scoring.ordered(hidden), max(hidden.values()), outside_scope=True))
    return found


async def check_write(
    session: AsyncSession, caller: Principal, values: Mapping[str, Any], *, exclude: uuid.UUID | None,
    allow_duplicates: bool, policy: str | None = None,
) -> list[PossibleDuplicate]:
    """The possible duplicates to report. Under `block`, a write with any is refused (409
    `duplicate_customer`, listing them) unless `allow_duplicates` is sent by a holder of
    `customers:admin` (403 for anyone else who sends it). `policy`: the tenant's duplicate policy
    when the caller has read the settings already (else it is read here)."""
    blocking = (policy or await repository.policy(session)) == "block"
    if blocking:
        # Two writes of the same phone (or email, code, ...) at once would each find no duplicate:
        # the second waits here until the first commits, then finds it.
        await repository.lock_keys(session, caller.tenant_id, [f"{kind}:{value}" for kind, value
                                                               in match.keys_of(values) if kind != "name_del"])
    found = await find(session, caller, values, exclude)
    if not found or not blocking:
        return found
    if allow_duplicates:
        caller.require(Scope.CUSTOMERS_ADMIN)  # 403 for anyone else
        return found
    raise Conflict(
        "likely duplicates of this customer exist; the tenant blocks duplicates",
        code="duplicate_customer", extra={"duplicates": [d.as_dict() for d in found]},
    )
