"""The tenant-wide duplicate scan, run as a job (`customers.duplicate_scan`), in three phases,
each committed before the next starts, so a scan whose worker died resumes at its last phase:

1. `exact`: blocks of live customers sharing an exact key (SQL GROUP BY on customer_match_keys):
   credit code, resident ID and bank card blind indexes in blocks of 2..MAX_BLOCK; phone, email
   and long name keys in blocks of 2..HUB_LIMIT (a value held by more is a hub: a switchboard, an
   agency's number, a placeholder, a name many companies share). Every pair inside a block is a
   candidate with that key as its reason.
2. `fuzzy`: every company name key (>= 4 characters), its one-deletion variants and its core
   without a leading place are hashed and sorted (numpy); keys sharing one are candidates when
   they already are, or share a contact person or company email domain. Every candidate is then
   compared (scoring.compare: vetoes, names, hubs, corroborations); likely pairs are kept, except
   dismissed ones.
3. `grouping`: grouping.build_groups (union-find that keeps different credit codes or resident
   IDs apart, splits oversized components, flags what stays too large). The new groups replace
   the open ones.
"""

from __future__ import annotations

import array
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.duplicates import grouping, repository, scoring
from crm_customers.duplicates import keys as match
from crm_platform import jobs
from crm_platform.db import tenant_session
from crm_platform.ids import new_id
from crm_platform.runtime import ServiceRuntime

log = logging.getLogger(__name__)

SCAN_JOB: Final = "customers.duplicate_scan"
EXACT_KINDS: Final = ("credit_code", "resident_id", "bank_card", "email", "phone", "name")
PHASES: Final = ("exact", "fuzzy", "grouping")
STREAM_BATCH: Final = 20_000
RETRY_SCHEDULE: Final = [timedelta(seconds=s) for s in (5, 60)]
Progress = Callable[[int, int], Awaitable[None]]


@dataclass
class Stats:
    exact_pairs: int = 0
    fuzzy_candidates: int = 0
    pairs: int = 0
    groups: int = 0
    flagged: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _ordered(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


def _pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if a < b else (b, a)


class DuplicateScan:
    """One scan of one tenant. `progress(done, total)` is told as it goes."""

    def __init__(self, engine: AsyncEngine, tenant_id: uuid.UUID, scan_id: uuid.UUID,
                 progress: Progress | None = None, exact_only: bool = False):
        self.engine = engine
        self.tenant_id = tenant_id
        self.scan_id = scan_id
        self.progress = progress
        self.exact_only = exact_only  # the benchmark's baseline: no fuzzy names, no corroboration
        self.stats = Stats()
        self.total = 0

    async def _report(self, phase: str, done_in_phase: float, **values: Any) -> None:
        index = PHASES.index(phase) if phase in PHASES else len(PHASES)
        processed = int(min(index * self.total + done_in_phase, len(PHASES) * self.total))
        async with tenant_session(self.engine, self.tenant_id) as session:
            await repository.update_scan(session, self.scan_id, phase=phase, processed=processed, **values)
        if self.progress is not None:
            await self.progress(processed, len(PHASES) * self.total)

    async def run(self) -> Stats:
        import time

        async with tenant_session(self.engine, self.tenant_id) as session:
            scan = await repository.get_scan(session, self.scan_id)
            if scan is None or scan.status in ("succeeded", "failed"):
                return self.stats
            self.total = max(await repository.count_live(session), 1)
            phase = scan.phase or "exact"
            await repository.update_scan(session, self.scan_id, status="running", total=len(PHASES) * self.total,
                                         started_at=scan.started_at or sa.func.now())
        for name in PHASES[PHASES.index(phase):]:
            started = time.perf_counter()
            if name == "exact":
                await self._exact()
            elif name == "fuzzy":
                await self._fuzzy()
            else:
                await self._grouping()
            self.stats.seconds[name] = round(time.perf_counter() - started, 2)
        return self.stats

    # -- phase 1 -------------------------------------------------------------------------------

    async def _exact(self) -> None:
        pairs: dict[tuple[uuid.UUID, uuid.UUID], set[str]] = {}
        for number, kind in enumerate(EXACT_KINDS):
            # The baseline links every block up to MAX_BLOCK, hubs included: exact keys and nothing else.
            limit = scoring.HUB_LIMIT if kind in scoring.HUB_KINDS and not self.exact_only else scoring.MAX_BLOCK
            async with tenant_session(self.engine, self.tenant_id) as session:
                blocks = await repository.exact_blocks(session, kind, limit,
                                                       min_length=match.MIN_FUZZY_LEN if kind == "name" else 0)
            for block in blocks:
                for i, a in enumerate(block):
                    for b in block[i + 1:]:
                        if a != b:
                            pairs.setdefault(_pair(a, b), set()).add(kind)
            await self._report("exact", self.total * (number + 1) / len(EXACT_KINDS))
        self.stats.exact_pairs = len(pairs)
        rows = [{"a": a, "b": b, "confidence": 0.0, "reasons": sorted(r)} for (a, b), r in pairs.items()]
        async with tenant_session(self.engine, self.tenant_id) as session:
            await repository.delete_pairs(session, self.scan_id)
            await repository.save_pairs(session, self.scan_id, rows)
            await repository.update_scan(session, self.scan_id, phase="fuzzy", processed=self.total)

    # -- phase 2 -------------------------------------------------------------------------------

    async def _fuzzy(self) -> None:
        people = _People()
        hashes = array.array("q")
        owners = array.array("l")
        async with tenant_session(self.engine, self.tenant_id) as session:
            async for batch in repository.stream_live(session, STREAM_BATCH):
                for row in batch:
                    index = people.add(row)
                    if not self.exact_only and not people.person[index]:
                        for variant in _name_tokens(people.names[index]):
                            hashes.append(hash(variant))
                            owners.append(index)
                await self._report("fuzzy", len(people.ids) * 0.8)
        common, common_contact = people.common_names(), people.common_contacts()
        position = {cid: i for i, cid in enumerate(people.ids)}
        candidates: dict[tuple[int, int], set[str]] = {}
        async with tenant_session(self.engine, self.tenant_id) as session:
            exact = await repository.load_pairs(session, self.scan_id)
            dismissed = await repository.dismissed_pairs(session)
        for row in exact:
            first, second = position.get(row.a), position.get(row.b)
            if first is None or second is None:
                continue  # deleted since phase 1
            candidates.setdefault(_ordered(first, second), set()).update(row.reasons)
        similar = 0
        if len(hashes):
            contacts, domains = people.contacts, people.domains
            for i, j in _shared_variant_pairs(np.frombuffer(hashes, dtype=np.int64),
                                              np.frombuffer(owners, dtype=np.int_), scoring.MAX_BLOCK):
                pair_key = _ordered(i, j)
                if pair_key in candidates:
                    continue
                # Similar names alone stay under MIN_CONFIDENCE: only corroborated ones are worth keeping.
                if ((contacts[i] and contacts[i] == contacts[j] and not common_contact[i])
                        or (domains[i] and domains[i] == domains[j])):
                    candidates[pair_key] = set()
                    similar += 1
        self.stats.fuzzy_candidates = similar
        scored = []
        for (i, j), reasons in candidates.items():
            a, b = _pair(people.ids[i], people.ids[j])
            if (a, b) in dismissed:
                continue
            if self.exact_only:  # the baseline: any shared exact key links
                scored.append({"a": a, "b": b, "confidence": scoring.confidence(reasons),
                               "reasons": scoring.ordered(reasons)})
                continue
            found = scoring.compare(people.profile(i), people.profile(j), reasons,
                                    common_name=bool(common[i] or common[j]), common_contact=bool(common_contact[i]))
            if found.likely:
                scored.append({"a": a, "b": b, "confidence": found.confidence, "reasons": found.reasons})
        self.stats.pairs = len(scored)
        async with tenant_session(self.engine, self.tenant_id) as session:
            await repository.delete_pairs(session, self.scan_id)
            await repository.save_pairs(session, self.scan_id, scored)
            await repository.update_scan(session, self.scan_id, phase="grouping", processed=2 * self.total,
                                         pairs_found=len(scored))

    # -- phase 3 -------------------------------------------------------------------------------

    async def _grouping(self) -> None:
        async with tenant_session(self.engine, self.tenant_id) as session:
            pairs = [grouping.Pair(r.a, r.b, float(r.confidence), list(r.reasons))
                     for r in await repository.load_pairs(session, self.scan_id)]
            members = sorted({c for p in pairs for c in (p.a, p.b)})
            identities = {} if self.exact_only else await repository.exclusive_identities(session, members)
        if self.exact_only:  # the baseline: plain union-find, no limits
            built = grouping.build_groups(pairs, identities, max_size=len(members) + 1, minimum=0.0)
        else:
            built = grouping.build_groups(pairs, identities)
        groups, rows = [], []
        for found in built:
            group_id = new_id()
            groups.append({
                "id": group_id, "scan_id": self.scan_id, "status": "open", "confidence": found.confidence,
                "reasons": found.reasons, "size": found.size, "too_large": found.too_large,
                "pairs": [{"a": str(p.a), "b": str(p.b), "confidence": p.confidence, "reasons": list(p.reasons)}
                          for p in found.pairs],
            })
            rows += [{"group_id": group_id, "customer_id": c} for c in found.members]
        self.stats.groups = len(groups)
        self.stats.flagged = sum(1 for g in built if g.too_large)
        async with tenant_session(self.engine, self.tenant_id) as session:
            await repository.drop_open_groups(session)
            await repository.insert_groups(session, groups, rows)
            await repository.delete_pairs(session, self.scan_id)
            await repository.update_scan(
                session, self.scan_id, status="succeeded", phase="done", processed=len(PHASES) * self.total,
                groups_found=len(groups), finished_at=sa.func.now(),
            )
        if self.progress is not None:
            await self.progress(len(PHASES) * self.total, len(PHASES) * self.total)


def _token(value: str) -> int:
    """An equality token for a value: 0 when empty (hash collisions between distinct values are
    2^-64 events)."""
    return (hash(value) or 1) if value else 0


def _name_tokens(key: str) -> set[Any]:
    """What a company name key is blocked on: one-deletion variants (and the key), and its core
    without a leading place (北京星辰科技 and 星辰科技 meet)."""
    tokens: set[Any] = set(match.fuzzy_probes(key))
    _place, core = match.split_place(key)
    if len(core) >= match.MIN_FUZZY_LEN:
        tokens.add(("core", core))
    return tokens


class _People:
    """Every live customer's comparison profile in compact columns (a million customers in a few
    hundred MiB): name keys as strings, identifiers and contacts as equality tokens, regions interned."""

    def __init__(self) -> None:
        self.ids: list[uuid.UUID] = []
        self.names: list[str] = []
        self.person = bytearray()
        self.regions: list[str] = []
        self.places: list[str] = []
        self.contacts = array.array("q")
        self.domains = array.array("q")
        self.credit_codes = array.array("q")
        self.resident_ids = array.array("q")
        self.bank_cards = array.array("q")

    def add(self, row: Any) -> int:
        key = row.name_key or ""
        self.ids.append(row.id)
        self.names.append(key)
        person = scoring.is_person(row.type or "", key)
        self.person.append(person)
        self.places.append("" if person else sys.intern(match.split_place(key)[0]))
        self.regions.append(sys.intern(scoring.region_key(row.region or "")))
        self.contacts.append(_token(match.contact_key(row.contact_person or "")))
        self.domains.append(_token(match.email_domain(row.email or "")))
        self.credit_codes.append(_token((row.credit_code or "").upper()))
        self.resident_ids.append(_token(row.resident_id_bidx or ""))
        self.bank_cards.append(_token(row.bank_card_bidx or ""))
        return len(self.ids) - 1

    def profile(self, i: int) -> scoring.Profile:
        return scoring.Profile(self.names[i], bool(self.person[i]), self.regions[i], self.places[i],
                               self.contacts[i], self.domains[i], self.credit_codes[i], self.resident_ids[i],
                               self.bank_cards[i])

    def common_names(self) -> np.ndarray[Any, Any]:
        """Per customer: its name key is held by more than HUB_LIMIT customers."""
        return _common(np.fromiter((_token(n) for n in self.names), dtype=np.int64, count=len(self.names)))

    def common_contacts(self) -> np.ndarray[Any, Any]:
        """Per customer: its contact person is the contact of more than HUB_LIMIT customers."""
        return _common(np.frombuffer(self.contacts, dtype=np.int64))


def _common(tokens: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per entry: its (non-zero) token occurs more than HUB_LIMIT times."""
    if not len(tokens):
        return np.zeros(0, dtype=bool)
    _unique, inverse, counts = np.unique(tokens, return_inverse=True, return_counts=True)
    common: np.ndarray[Any, Any] = (counts[inverse] > scoring.HUB_LIMIT) & (tokens != 0)
    return common


def _shared_variant_pairs(hashes: np.ndarray[Any, Any], owners: np.ndarray[Any, Any],
                          max_block: int) -> Iterator[tuple[int, int]]:
    """Pairs of distinct owners sharing a hash, from blocks of at most `max_block` entries (a pair
    sharing several variants comes once per block)."""
    order = np.argsort(hashes, kind="stable")
    sorted_hashes = hashes[order]
    sorted_owners = owners[order]
    boundaries = np.flatnonzero(np.diff(sorted_hashes)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(sorted_hashes)]))
    sizes = ends - starts
    keep = (sizes >= 2) & (sizes <= max_block)
    for start, end in zip(starts[keep].tolist(), ends[keep].tolist(), strict=True):
        block = sorted(set(sorted_owners[start:end].tolist()))
        for i, a in enumerate(block):
            for b in block[i + 1:]:
                yield a, b


def duplicate_scan_worker(runtime: ServiceRuntime) -> jobs.JobWorker:
    """One scan at a time per process; a lease long enough for a million customers' phase."""
    return jobs.JobWorker(runtime.engine, {SCAN_JOB: ScanJobHandler(runtime.engine)}, RETRY_SCHEDULE,
                          concurrency=1, lease=timedelta(minutes=30))


class ScanJobHandler:
    """Runs `customers.duplicate_scan` jobs (payload: tenant_id, scan_id); a failed scan is
    retried from its last finished phase, and marked failed after the job's last attempt."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    async def __call__(self, job: jobs.Job) -> dict[str, Any] | None:
        tenant_id = uuid.UUID(job.payload["tenant_id"])
        scan_id = uuid.UUID(job.payload["scan_id"])

        async def progress(done: int, total: int) -> None:
            await jobs.report_progress(self.engine, job.id, done, total)

        try:
            stats = await DuplicateScan(self.engine, tenant_id, scan_id, progress).run()
        except Exception as exc:
            if job.attempts >= job.max_attempts:
                async with tenant_session(self.engine, tenant_id) as session:
                    await repository.update_scan(session, scan_id, status="failed", error=str(exc)[:500],
                                                 finished_at=sa.func.now())
            raise
        return {"pairs": stats.pairs, "groups": stats.groups}
