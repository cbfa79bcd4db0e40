"""Duplicates on the way in: keys kept current on every customer write, and likely duplicates of
a customer being created or updated, with the tenant's `duplicate_policy` (warn | block)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
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
# Columns the comparison reads (scoring.profile_of): an update touching one of them is checked.
CHECKED_COLUMNS: Final = MATCH_KEY_COLUMNS | {"type", "region", "contact_person"}


@dataclass(frozen=True)
class PossibleDuplicate:
    """`id`, `code` and `name` are empty when the customer is outside the caller's data scope:
    the caller learns only that such a customer exists. `likely`: confidence >= MIN_CONFIDENCE
    (what `block` refuses); otherwise only possible. `conflicts`: identifiers that differ."""

    id: str
    code: str
    name: str
    matched_on: list[str]
    confidence: float
    outside_scope: bool = False
    conflicts: list[str] = field(default_factory=list)

    @property
    def likely(self) -> bool:
        return self.confidence >= scoring.MIN_CONFIDENCE

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"matched_on": self.matched_on, "confidence": self.confidence, "likely": self.likely}
        if self.conflicts:
            found["conflicts"] = self.conflicts
        if self.outside_scope:
            return {"outside_scope": True, **found}
        return {"id": self.id, "code": self.code, "name": self.name, **found}


async def refresh_keys(session: AsyncSession, row: Any, *, replace: bool = True) -> None:
    """Stores the customer's match keys from its row (every insert and every update touching a
    key column calls this, see customer/repository.py); a new customer has none to replace."""
    await repository.replace_keys(session, row.id, match.keys_of(row._mapping), replace=replace)


def _probes(mine: scoring.Profile, common_name: bool) -> list[str]:
    """Name keys one edit away, or with/without a leading place: companies only (a person's
    similar name never links on its own, and with a shared phone the phone finds it). A name
    held by many is not looked up itself (its holders are no evidence)."""
    if mine.person:
        return []
    probes = match.fuzzy_probes(mine.name) | match.place_probes(mine.name)
    return sorted(probes - {mine.name} if common_name else probes)


async def find(
    session: AsyncSession, caller: Principal, values: Mapping[str, Any], exclude: uuid.UUID | None = None
) -> list[PossibleDuplicate]:
    """Likely and possible duplicates of a customer with these (cleaned, stored-form) values among
    the tenant's live customers other than `exclude`, highest confidence first (scoring.compare)."""
    mine = scoring.profile_of(values)
    mine_keys = {k for k in match.keys_of(values) if k[0] != "name_del"}
    # A phone, email or name held by HUB_LIMIT others already (a switchboard, a placeholder, a
    # namesake of many) is not evidence: its holders are not even fetched. So for a contact person.
    counted = [k for k in mine_keys if k[0] in scoring.HUB_KINDS]
    counts = await repository.holder_counts(session, counted, exclude, scoring.HUB_LIMIT)
    hubs = {k for k, n in counts.items() if n >= scoring.HUB_LIMIT}
    linking = sorted(k for k in mine_keys - hubs if k[0] != "contact")  # a contact person alone links nothing
    hits = await repository.matching_keys(session, linking, _probes(mine, ("name", mine.name) in hubs), exclude)
    ids = sorted({h.customer_id for h in hits})
    if not ids:
        return []
    rows = await repository.customer_rows(session, ids)
    their_names = {match.name_key(r.name) for r in rows} - {mine.name}
    common = {value for (_, value), n in (await repository.holder_counts(
        session, [("name", k) for k in their_names if k], None, scoring.HUB_LIMIT + 1)).items()
        if n > scoring.HUB_LIMIT}
    if ("name", mine.name) in hubs:
        common.add(mine.name)
    common_contact = ("contact", mine.contact) in hubs
    scored: list[tuple[scoring.Match, Any]] = []
    for row in rows:
        stored = dict(row._mapping)
        theirs = scoring.profile_of(stored)
        shared = {kind for kind, value in mine_keys & match.keys_of(stored)
                  if kind in scoring.CONTACT_KINDS and (kind, value) not in hubs}
        found = scoring.compare(mine, theirs, shared, common_name=bool({mine.name, theirs.name} & common),
                                common_contact=common_contact)
        if found.reported:
            scored.append((found, row))
    scored.sort(key=lambda s: (-s[0].confidence, str(s[1].id)))
    visible = await repository.visible_ids(session, [s[1].id for s in scored], access.scope_clause(caller))
    show_name = access.readable(caller, "name")
    reported: list[PossibleDuplicate] = []
    hidden: dict[str, float] = defaultdict(float)
    hidden_conflicts: set[str] = set()
    for found, row in scored:
        if row.id in visible:
            reported.append(PossibleDuplicate(str(row.id), row.code, row.name if show_name else "", found.reasons,
                                              found.confidence, conflicts=found.conflicts))
        else:
            for reason in found.reasons:
                hidden[reason] = max(hidden[reason], found.confidence)
            hidden_conflicts.update(found.conflicts)
    reported = reported[:MAX_REPORTED]
    if hidden:  # one entry for all of them: not even how many there are
        reported.append(PossibleDuplicate("", "", "", scoring.ordered(hidden), max(hidden.values()),
                                          outside_scope=True, conflicts=scoring.ordered_conflicts(hidden_conflicts)))
    return reported


async def check_write(
    session: AsyncSession, caller: Principal, values: Mapping[str, Any], *, exclude: uuid.UUID | None,
    allow_duplicates: bool, policy: str | None = None,
) -> list[PossibleDuplicate]:
    """The possible duplicates to report. Under `block`, a write with a likely one is refused
    (409 `duplicate_customer`, listing them all) unless `allow_duplicates` is sent by a holder of
    `customers:admin` (403 for anyone else who sends it); possible ones are only reported.
    `policy`: the tenant's duplicate policy when the caller has read the settings already (else it
    is read here)."""
    blocking = (policy or await repository.policy(session)) == "block"
    if blocking:
        # Two writes of the same phone (or email, code, ...) at once would each find no duplicate:
        # the second waits here until the first commits, then finds it.
        await repository.lock_keys(session, caller.tenant_id, [f"{kind}:{value}" for kind, value
                                                               in match.keys_of(values) if kind != "name_del"])
    found = await find(session, caller, values, exclude)
    if not blocking or not any(d.likely for d in found):
        return found
    if allow_duplicates:
        caller.require(Scope.CUSTOMERS_ADMIN)  # 403 for anyone else
        return found
    raise Conflict(
        "likely duplicates of this customer exist; the tenant blocks duplicates",
        code="duplicate_customer", extra={"duplicates": [d.as_dict() for d in found]},
    )
