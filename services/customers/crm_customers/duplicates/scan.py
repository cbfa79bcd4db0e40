"""The tenant-wide duplicate scan, run as a job (`customers.duplicate_scan`), in three phases,
each committed before the next starts, so a scan whose worker died resumes at its last phase:

1. `exact`: blocks of live customers sharing an exact key (SQL GROUP BY on customer_match_keys:
   credit code, resident ID and bank card blind indexes, email, phone, long name keys); every pair
   inside a block of 2..MAX_BLOCK is a candidate with that key as its reason.
2. `fuzzy`: every name key (>= 4 characters) and its one-deletion variants are hashed and sorted
   (numpy); keys sharing a variant are candidates, kept when rapidfuzz confirms one edit. Then
   every candidate gets its corroborations (same contact person, same company email domain) and a
   confidence (scoring.py); pairs under MIN_CONFIDENCE and dismissed pairs are dropped.
3. `grouping`: union-find over the pairs; each group gets the lowest confidence of the pairs that
   joined it and the union of their reasons. The new groups replace the open ones.
"""

from __future__ import annotations

import array
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_customers.duplicates import keys as match
from crm_customers.duplicates import repository, scoring
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
# With the weights of scoring.py a name one edit away is not reported on its own, so phase 2 keeps
# such a pair only when it also has other evidence (memory stays proportional to likely pairs).
SIMILAR_ALONE_REPORTED: Final = scoring.confidence({"name_similar"}) >= scoring.MIN_CONFIDENCE

Progress = Callable[[int, int], Awaitable[None]]


@dataclass
class Stats:
    exact_pairs: int = 0
    fuzzy_candidates: int = 0
    pairs: int = 0
    groups: int = 0
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
            async with tenant_session(self.engine, self.tenant_id) as session:
                blocks = await repository.exact_blocks(session, kind, scoring.MAX_BLOCK,
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
        ids: list[uuid.UUID] = []
        names: list[str] = []
        contacts: list[str] = []
        domains: list[str] = []
        hashes = array.array("q")
        owners = array.array("l")
        async with tenant_session(self.engine, self.tenant_id) as session:
            async for batch in repository.stream_live(session, STREAM_BATCH):
                for row in batch:
                    index = len(ids)
                    key = row.name_key or ""
                    ids.append(row.id)
                    names.append(key)
                    contacts.append((row.contact_person or "").strip())
                    domains.append(match.email_domain(row.email or ""))
                    if not self.exact_only and len(key) >= match.MIN_FUZZY_LEN:
                        for variant in match.fuzzy_probes(key):
                            hashes.append(hash(variant))
                            owners.append(index)
                await self._report("fuzzy", len(ids) * 0.8)
        position = {cid: i for i, cid in enumerate(ids)}
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
            for i, j in _shared_variant_pairs(np.frombuffer(hashes, dtype=np.int64),
                                              np.frombuffer(owners, dtype=np.int_), scoring.MAX_BLOCK):
                pair_key = _ordered(i, j)
                known = candidates.get(pair_key)
                if known is None and not SIMILAR_ALONE_REPORTED and not (
                    (contacts[i] and contacts[i] == contacts[j]) or (domains[i] and domains[i] == domains[j])
                ):
                    continue  # a similar name alone stays under MIN_CONFIDENCE: not worth keeping
                if (known is None or "name_similar" not in known) and scoring.one_edit_apart(names[i], names[j]):
                    candidates.setdefault(pair_key, set()).add("name_similar")
                    similar += 1
        self.stats.fuzzy_candidates = similar
        scored = []
        for (i, j), reasons in candidates.items():
            a, b = _pair(ids[i], ids[j])
            if (a, b) in dismissed:
                continue
            if names[i] and names[i] == names[j]:
                reasons.add("name")
            if not self.exact_only:
                if contacts[i] and contacts[i] == contacts[j]:
                    reasons.add("contact_person")
                if domains[i] and domains[i] == domains[j]:
                    reasons.add("email_domain")
            score = scoring.confidence(reasons, short_name=len(names[i]) < match.MIN_FUZZY_LEN)
            if score >= scoring.MIN_CONFIDENCE:
                scored.append({"a": a, "b": b, "confidence": score, "reasons": scoring.ordered(reasons)})
        self.stats.pairs = len(scored)
        async with tenant_session(self.engine, self.tenant_id) as session:
            await repository.delete_pairs(session, self.scan_id)
            await repository.save_pairs(session, self.scan_id, scored)
            await repository.update_scan(session, self.scan_id, phase="grouping", processed=2 * self.total,
                                         pairs_found=len(scored))

    # -- phase 3 -------------------------------------------------------------------------------

    async def _grouping(self) -> None:
        async with tenant_session(self.engine, self.tenant_id) as session:
            pairs = await repository.load_pairs(session, self.scan_id)
        parent: dict[uuid.UUID, uuid.UUID] = {}

        def find(x: uuid.UUID) -> uuid.UUID:
            root = x
            while parent.get(root, root) != root:
                root = parent[root]
            while parent.get(x, x) != root:
                parent[x], x = root, parent[x]
            return root

        for row in pairs:
            ra, rb = find(row.a), find(row.b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        by_root: dict[uuid.UUID, list[Any]] = {}
        for row in pairs:
            by_root.setdefault(find(row.a), []).append(row)
        groups, members = [], []
        for root_pairs in by_root.values():
            group_id = new_id()
            customers = sorted({p.a for p in root_pairs} | {p.b for p in root_pairs})
            reasons: set[str] = set()
            for p in root_pairs:
                reasons.update(p.reasons)
            ranked = sorted(root_pairs, key=lambda p: -p.confidence)
            groups.append({
                "id": group_id, "scan_id": self.scan_id, "status": "open",
                "confidence": _group_confidence(customers, ranked), "reasons": scoring.ordered(reasons),
                "pairs": [{"a": str(p.a), "b": str(p.b), "confidence": p.confidence, "reasons": list(p.reasons)}
                          for p in ranked[:100]],
            })
            members += [{"group_id": group_id, "customer_id": c} for c in customers]
        self.stats.groups = len(groups)
        async with tenant_session(self.engine, self.tenant_id) as session:
            await repository.drop_open_groups(session)
            await repository.insert_groups(session, groups, members)
            await repository.delete_pairs(session, self.scan_id)
            await repository.update_scan(
                session, self.scan_id, status="succeeded", phase="done", processed=len(PHASES) * self.total,
                groups_found=len(groups), finished_at=sa.func.now(),
            )
        if self.progress is not None:
            await self.progress(len(PHASES) * self.total, len(PHASES) * self.total)


def _group_confidence(customers: list[uuid.UUID], ranked: list[Any]) -> float:
    """The weakest link of a maximum spanning tree: the lowest confidence among the strongest
    pairs that connect every member (Kruskal over pairs sorted by confidence)."""
    parent = {c: c for c in customers}

    def find(x: uuid.UUID) -> uuid.UUID:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    weakest = 1.0
    for p in ranked:
        ra, rb = find(p.a), find(p.b)
        if ra != rb:
            parent[ra] = rb
            weakest = min(weakest, float(p.confidence))
    return round(weakest, 3)


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
