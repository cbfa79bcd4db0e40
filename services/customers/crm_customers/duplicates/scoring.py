"""How sure we are that two customers are one: each piece of evidence has a weight, combined as
independent evidence (noisy-or: 1 - Π(1 - w)). Shared by the check on write and the scan.

Weights (docs/customers.md, "Duplicates"): a shared credit code or resident ID is nearly
certain; a shared email or phone is strong; an equal company-name key is strong (Chinese company
names are unique where they are registered); a name one edit away is weak on its own (北京星辰科技
and 北京星晨科技 may both exist) and needs support from the same contact person or the same
company email domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from rapidfuzz.distance import Levenshtein

WEIGHTS: Final[dict[str, float]] = {
    "credit_code": 0.98,
    "resident_id": 0.98,
    "bank_card": 0.95,
    "email": 0.85,
    "phone": 0.8,
    "name": 0.85,
    "name_similar": 0.5,
    "contact_person": 0.5,
    "email_domain": 0.5,
}
# An equal name key that is short (a person's name such as 张伟) says little by itself.
SHORT_NAME_WEIGHT: Final = 0.45
# Only evidence that names the same company: corroborations count only next to a name match.
CORROBORATING: Final = frozenset({"contact_person", "email_domain"})
# Pairs below this are not reported (on write) and not grouped (scan).
MIN_CONFIDENCE: Final = 0.6
# Exact-key blocks larger than this are a shared switchboard or a placeholder, not a duplicate.
MAX_BLOCK: Final = 50
ORDER: Final = ("credit_code", "resident_id", "bank_card", "email", "phone", "name", "name_similar",
                "contact_person", "email_domain")


def _effective(reasons: Iterable[str]) -> set[str]:
    found = set(reasons)
    if not found & {"name", "name_similar"}:
        found -= CORROBORATING
    if "email" in found:  # the same address says more than the same domain
        found.discard("email_domain")
    return found


def confidence(reasons: Iterable[str], *, short_name: bool = False) -> float:
    found = _effective(reasons)
    remaining = 1.0
    for reason in found:
        weight = SHORT_NAME_WEIGHT if reason == "name" and short_name else WEIGHTS.get(reason, 0.0)
        remaining *= 1.0 - weight
    return round(1.0 - remaining, 3)


def ordered(reasons: Iterable[str]) -> list[str]:
    found = _effective(reasons)
    return [r for r in ORDER if r in found]


def one_edit_apart(a: str, b: str) -> bool:
    """Keys at Levenshtein distance 1 (an adjacent swap counts as one edit)."""
    if a == b:
        return False
    if Levenshtein.distance(a, b, score_cutoff=1) <= 1:
        return True
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
