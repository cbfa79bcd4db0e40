"""How sure we are that two customers are one: the evidence model shared by the check on write
(check.py), the scan (scan.py) and imports. docs/customers.md, "Duplicates", has the table.

Positive evidence has a weight and is combined as independent evidence (noisy-or, 1 - Π(1 - w)).
What makes it trustworthy is what the weights alone cannot say:

- Vetoes: a unified social credit code or resident ID present on both and different means two
  legal entities or two people (both carry a check character, so a typo is refused on input): the
  pair is not a duplicate, whatever else they share. A different bank card makes it at most
  possible (a person has several cards).
- Names: a company name alone is a weak "possible" link (branches and namesakes share names: 星辰
  科技有限公司 in ten cities, "Sunrise Trading Ltd" in many countries); it becomes likely with a
  corroboration: the same contact person, the same company email domain or, for an equal name,
  the same region (a contact person only when few customers have that contact). A different
  region, or a place in one name that is not the other's region, voids a link made by names alone
  and keeps one made by a phone or email at possible. A person's name never links on its own
  (张伟 = 张伟 says nothing); people's and short names only confirm other evidence.
- Contact data: a shared phone or email links only when the names agree (equal, similar); with
  names that disagree it is only possible (a group's switchboard, an agency's number, a family's
  phone). A value held by more than HUB_LIMIT live customers is a hub, not an identity: the
  callers leave it out (`shared`); a name key or contact person that common is no evidence
  either (`common_name`, `common_contact`).

Levels: `likely` (confidence >= MIN_CONFIDENCE) pairs are grouped by scans and refused by the
`block` policy; `possible` ones (>= MIN_POSSIBLE) are only reported on create and update.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from rapidfuzz.distance import Levenshtein

from crm_customers.duplicates import keys as match
from crm_customers.search.pinyin import search_keys

WEIGHTS: Final[dict[str, float]] = {
    "credit_code": 0.98,
    "resident_id": 0.98,
    "bank_card": 0.95,
    "email": 0.85,
    "phone": 0.8,
    "name": 0.5,
    "name_similar": 0.3,
    "contact_person": 0.5,
    "email_domain": 0.5,
    "region": 0.5,
}
# A person's (or a short) name only confirms other evidence: equal, one edit apart.
PERSON_WEIGHTS: Final[dict[str, float]] = {"name": 0.3, "name_similar": 0.15}
# A Latin person name is similar to another one edit apart from this length ("jon smith").
PERSON_FUZZY_LEN: Final = 5
# Kept for callers that score a set of shared keys (imports): an equal short name key.
SHORT_NAME_WEIGHT: Final = PERSON_WEIGHTS["name"]
# Corroborations count only next to a distinctive company-name match.
CORROBORATING: Final = frozenset({"contact_person", "email_domain", "region"})
# Identifiers a customer has at most one of: different values on two customers veto.
EXCLUSIVE: Final = ("credit_code", "resident_id")
STRONG: Final = (*EXCLUSIVE, "bank_card")
# Keys that link by being shared; more than HUB_LIMIT holders make a value a hub.
CONTACT_KINDS: Final = ("phone", "email")
HUB_KINDS: Final = frozenset({"phone", "email", "name", "contact"})
HUB_LIMIT: Final = 10
# Pairs at or above this are likely duplicates (grouped by the scan, refused under `block`).
MIN_CONFIDENCE: Final = 0.6
# Pairs at or above this (and below MIN_CONFIDENCE) are possible duplicates: reported on write only.
MIN_POSSIBLE: Final = 0.45
# The most a pair gets when its names disagree or its identifiers conflict: possible, never likely.
POSSIBLE_CAP: Final = 0.5
# Exact-key blocks of strong identifiers larger than this are placeholders, not one customer.
MAX_BLOCK: Final = 50
# A duplicate group a reviewer can merge in one go: a survivor and up to 9 others (merge/service.py).
MAX_GROUP: Final = 10
ORDER: Final = ("credit_code", "resident_id", "bank_card", "email", "phone", "name", "name_similar",
                "contact_person", "email_domain", "region")


@dataclass(frozen=True, slots=True)
class Profile:
    """What the comparison needs of one customer. Identifier fields hold any value that is equal
    exactly when the stored values are (the scan passes hashes); empty or 0 means absent."""

    name: str  # the name key (keys.name_key)
    person: bool = False  # an individual, or a name key too short to mean a company
    region: str = ""
    place: str = ""  # the place a company's name starts with (北京 of 北京星辰科技)
    contact: Hashable = ""
    domain: Hashable = ""  # company email domain (free mail is no evidence)
    credit_code: Hashable = ""
    resident_id: Hashable = ""
    bank_card: Hashable = ""


@dataclass(frozen=True)
class Match:
    confidence: float
    reasons: list[str] = field(default_factory=list)
    # Strong identifiers present on both with different values (credit_code, resident_id, bank_card).
    conflicts: list[str] = field(default_factory=list)

    @property
    def likely(self) -> bool:
        return self.confidence >= MIN_CONFIDENCE

    @property
    def reported(self) -> bool:
        return self.confidence >= MIN_POSSIBLE


NO_MATCH: Final = Match(0.0)


def is_person(customer_type: str, key: str) -> bool:
    return customer_type == "individual" or len(key) < match.MIN_FUZZY_LEN


def region_key(region: str) -> str:
    return "".join(unicodedata.normalize("NFKC", region).casefold().split())


def profile_of(row: Mapping[str, Any]) -> Profile:
    """The profile of a customer from its stored columns (a row mapping or the cleaned values of
    a write)."""
    key = match.name_key(str(row.get("name") or ""))
    return Profile(
        name=key,
        person=is_person(str(row.get("type") or ""), key),
        region=region_key(str(row.get("region") or "")),
        place="" if is_person(str(row.get("type") or ""), key) else match.split_place(key)[0],
        contact=match.contact_key(str(row.get("contact_person") or "")),
        domain=match.email_domain(str(row.get("email") or "")),
        credit_code=str(row.get("credit_code") or "").upper(),
        resident_id=str(row.get("resident_id_bidx") or ""),
        bank_card=str(row.get("bank_card_bidx") or ""),
    )


def _places_of(region: str) -> set[str]:
    return {segment.removesuffix("市").removesuffix("省") for segment in region.split("/")}


def located_apart(a: Profile, b: Profile) -> bool:
    """Their regions differ, or one has none and the place in its name is not in the other's
    region (深圳正南贸易, no region, is not 正南贸易 of 重庆)."""
    relation = region_relation(a.region, b.region)
    if relation:
        return relation == "different"
    return any(
        named.place and not named.region and (other.region or other.place)
        and named.place not in _places_of(other.region) | {other.place}
        for named, other in ((a, b), (b, a))
    )


def region_relation(a: str, b: str) -> str:
    """"same", "different", or "" (one is missing, or one is the other's ancestor: 广东 and 广东/深圳
    neither agree nor disagree)."""
    if not a or not b:
        return ""
    if a == b:
        return "same"
    shorter, longer = sorted((a.split("/"), b.split("/")), key=len)
    return "" if longer[: len(shorter)] == shorter else "different"


def name_relation(a: str, b: str, *, person: bool) -> str:
    """"name" (equal keys), "name_similar", "different", or "" (a name is missing).

    Companies are similar one edit apart (keys of MIN_FUZZY_LEN or more), or as the same name with
    and without its leading place (星辰科技, 北京星辰科技), never as the same name in two places
    (广州星辰科技, 杭州星辰科技). People are similar when a Chinese name sounds the same (王芳, 王方
    and "Wang Fang": the input method's typo, a transliteration) or a Latin one is one edit apart:
    one edit in a two-character Chinese name is another person (王伟 and 王芳 may share a phone)."""
    if not a or not b:
        return ""
    if a == b:
        return "name"
    if person:
        sound_a, sound_b = search_keys(a)[0], search_keys(b)[0]
        if sound_a or sound_b:  # 王芳 = 王方 = wangfang
            return "name_similar" if (sound_a or a) == (sound_b or b) else "different"
        return "name_similar" if min(len(a), len(b)) >= PERSON_FUZZY_LEN and one_edit_apart(a, b) else "different"
    places_a, places_b = match.places_in(a), match.places_in(b)
    if places_a - places_b and places_b - places_a:
        return "different"  # 广州星辰科技 and 杭州星辰科技: one edit apart, two cities
    core = match.split_place(a)[1]
    if core == match.split_place(b)[1] and len(core) >= match.MIN_FUZZY_LEN:
        return "name_similar"
    long_enough = min(len(a), len(b)) >= match.MIN_FUZZY_LEN
    if long_enough and (one_edit_apart(a, b) or match.loose_key(a) == match.loose_key(b)):
        return "name_similar"
    return "different"


def _noisy_or(weights: Iterable[float]) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


def compare(a: Profile, b: Profile, shared: Iterable[str] = (), *, common_name: bool = False,
            common_contact: bool = False) -> Match:
    """The evidence that `a` and `b` are one customer. `shared`: the contact kinds (phone, email)
    they hold a value of in common, hubs left out. `common_name`: either name key is held by more
    than HUB_LIMIT customers (then a name match is no evidence, though the names still agree);
    `common_contact`: so is their contact person (then it corroborates nothing)."""
    strong_shared = [k for k in STRONG if getattr(a, k) and getattr(a, k) == getattr(b, k)]
    conflicts = [k for k in STRONG if getattr(a, k) and getattr(b, k) and getattr(a, k) != getattr(b, k)]
    contacts = [k for k in CONTACT_KINDS if k in set(shared)]
    reasons = [*strong_shared, *contacts]
    weights = [WEIGHTS[k] for k in reasons]
    person = a.person or b.person
    relation = name_relation(a.name, b.name, person=person)
    if relation in ("name", "name_similar"):
        reasons.append(relation)
        weight = 0.0 if common_name else (PERSON_WEIGHTS if person else WEIGHTS)[relation]
        weights.append(weight)
        if weight and not person:  # corroborations of a distinctive company name
            corroborations = []
            if a.contact and a.contact == b.contact and not common_contact:
                corroborations.append("contact_person")
            if a.domain and a.domain == b.domain and "email" not in contacts:
                corroborations.append("email_domain")
            if relation == "name" and region_relation(a.region, b.region) == "same":
                corroborations.append("region")
            reasons += corroborations
            weights += [WEIGHTS[k] for k in corroborations]
    confidence = _noisy_or(weights)
    if any(k in conflicts for k in EXCLUSIVE):
        # Two legal entities or two people; with another identifier shared, a contradiction to review.
        confidence = min(confidence, POSSIBLE_CAP) if strong_shared else 0.0
    elif "bank_card" in conflicts and not any(k in strong_shared for k in EXCLUSIVE):
        confidence = min(confidence, POSSIBLE_CAP)  # people have several cards: never more than possible
    if not strong_shared:
        if relation == "different":
            confidence = min(confidence, POSSIBLE_CAP)
        if located_apart(a, b):
            # Namesakes in two places; with a shared phone or email, a group's branches.
            confidence = min(confidence, POSSIBLE_CAP) if contacts else 0.0
    if confidence < MIN_POSSIBLE:
        return NO_MATCH
    return Match(round(confidence, 3), ordered(reasons), ordered_conflicts(conflicts))


def confidence(reasons: Iterable[str], *, short_name: bool = False) -> float:
    """The confidence of a pair known only by the keys it shares (positive evidence only: no
    vetoes, no name comparison). For two records use `compare`, which also sees what differs."""
    found = _effective(reasons)
    weights = []
    for reason in found:
        if reason in PERSON_WEIGHTS and short_name:
            weights.append(PERSON_WEIGHTS[reason])
        else:
            weights.append(WEIGHTS.get(reason, 0.0))
    return round(_noisy_or(weights), 3)


def _effective(reasons: Iterable[str]) -> set[str]:
    found = set(reasons)
    if not found & {"name", "name_similar"}:
        found -= CORROBORATING
    if "email" in found:  # the same address says more than the same domain
        found.discard("email_domain")
    return found


def ordered(reasons: Iterable[str]) -> list[str]:
    found = _effective(reasons)
    return [r for r in ORDER if r in found]


def ordered_conflicts(conflicts: Iterable[str]) -> list[str]:
    found = set(conflicts)
    return [k for k in STRONG if k in found]


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
