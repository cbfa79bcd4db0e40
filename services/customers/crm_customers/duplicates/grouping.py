"""Duplicate groups from scored pairs: union-find over likely pairs, strongest first, that never
puts two customers with different credit codes or resident IDs in one group (A-B and B-C do not
join A and C when A and C are two legal entities), and that keeps groups reviewable: a component
of more than MAX_GROUP customers is split by its strongest evidence (only pairs at or above
0.8, then 0.9, 0.95, 0.98), and what is still too large is kept as one group flagged `too_large`
with a sample of its best-connected members.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from crm_customers.duplicates import scoring

SPLIT_THRESHOLDS: Final = (0.8, 0.9, 0.95, 0.98)
# A flagged group keeps this many of its members (those with the most links) for review.
FLAGGED_SAMPLE: Final = 50
# Pairs kept on a group for display, strongest first.
PAIRS_KEPT: Final = 100

# A customer's exclusive identifiers (credit code, resident ID; falsy when absent).
Identity = tuple[Hashable, ...]


@dataclass(frozen=True)
class Pair:
    a: uuid.UUID
    b: uuid.UUID
    confidence: float
    reasons: Sequence[str]


@dataclass
class Group:
    members: list[uuid.UUID]
    pairs: list[Pair]  # between members, strongest first (at most PAIRS_KEPT)
    confidence: float  # the weakest link of the strongest pairs joining every member
    reasons: list[str]
    size: int  # members in the component (more than `members` for a flagged group)
    too_large: bool = False


def _compatible(x: Identity, y: Identity) -> bool:
    return all(not (u and v and u != v) for u, v in zip(x, y, strict=True))


def _union(x: Identity, y: Identity) -> Identity:
    return tuple(u or v for u, v in zip(x, y, strict=True))


def _components(pairs: Sequence[Pair], identities: Mapping[uuid.UUID, Identity],
                minimum: float) -> list[tuple[list[uuid.UUID], float]]:
    """Kruskal over pairs at or above `minimum`, strongest first, refusing joins that would hold two
    different values of an exclusive identifier. Each component with its weakest tree link."""
    parent: dict[uuid.UUID, uuid.UUID] = {}
    held: dict[uuid.UUID, Identity] = {}
    weakest: dict[uuid.UUID, float] = {}

    def find(x: uuid.UUID) -> uuid.UUID:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for pair in sorted(pairs, key=lambda p: (-p.confidence, p.a, p.b)):
        if pair.confidence < minimum:
            break
        ra, rb = find(pair.a), find(pair.b)
        if ra == rb:
            continue
        ia = held.get(ra, identities.get(ra, ()))
        ib = held.get(rb, identities.get(rb, ()))
        if ia and ib and not _compatible(ia, ib):
            continue
        parent[rb] = ra
        held[ra] = _union(ia, ib) if ia and ib else (ia or ib)
        weakest[ra] = min(weakest.get(ra, 1.0), weakest.get(rb, 1.0), pair.confidence)
    members: dict[uuid.UUID, list[uuid.UUID]] = {}
    for customer in {c for p in pairs if p.confidence >= minimum for c in (p.a, p.b)}:
        members.setdefault(find(customer), []).append(customer)
    return [(sorted(m), round(weakest.get(root, 1.0), 3)) for root, m in members.items() if len(m) > 1]


def _inside(pairs: Iterable[Pair], members: set[uuid.UUID]) -> list[Pair]:
    return [p for p in pairs if p.a in members and p.b in members]


def _group(members: list[uuid.UUID], pairs: list[Pair], weakest: float, size: int, too_large: bool) -> Group:
    ranked = sorted(pairs, key=lambda p: (-p.confidence, p.a, p.b))
    return Group(members, ranked[:PAIRS_KEPT], weakest, scoring.ordered({r for p in pairs for r in p.reasons}),
                 size, too_large)


def build_groups(pairs: Sequence[Pair], identities: Mapping[uuid.UUID, Identity],
                 max_size: int = scoring.MAX_GROUP, minimum: float = scoring.MIN_CONFIDENCE) -> list[Group]:
    """`identities`: each customer's exclusive identifiers (customers without any may be left out)."""
    groups: list[Group] = []
    first = minimum

    def split(part: Sequence[Pair], level: int) -> None:
        minimum = first if level < 0 else SPLIT_THRESHOLDS[level]
        components = _components(part, identities, minimum)
        component_of = {c: n for n, (members, _weakest) in enumerate(components) for c in members}
        pairs_of: list[list[Pair]] = [[] for _ in components]
        for p in part:
            n = component_of.get(p.a)
            if p.confidence >= minimum and n is not None and component_of.get(p.b) == n:
                pairs_of[n].append(p)
        for (members, weakest), inside in zip(components, pairs_of, strict=True):
            if len(members) <= max_size:
                groups.append(_group(members, inside, weakest, len(members), False))
            elif level + 1 < len(SPLIT_THRESHOLDS):
                split(inside, level + 1)
            else:
                degree = Counter(c for p in inside for c in (p.a, p.b))
                sample = sorted(members, key=lambda c: (-degree[c], c))[:FLAGGED_SAMPLE]
                groups.append(_group(sorted(sample), _inside(inside, set(sample)), weakest, len(members), True))

    split(pairs, -1)
    return groups
