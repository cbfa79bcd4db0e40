"""Who gets the free sender slots: round-robin across tenants, then across each tenant's endpoints.

Pure (no I/O), so the order is unit-tested on its own. The claim (dispatch/repository.py) hands in
the due deliveries it found per lane (endpoint), each lane already cut to its endpoint's free room,
with lanes ordered by their tenant's turn (fewest attempts in flight, then least recently served);
this picks at most `slots` of them so that every tenant with work gets one before any tenant gets
a second, and within a tenant its endpoints take turns. A tenant's in-flight cap bounds how many
it can get at all.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    """A due delivery, as the claim found it."""

    delivery_id: uuid.UUID
    tenant_id: uuid.UUID
    endpoint_id: uuid.UUID


def pick(
    lanes: Sequence[Sequence[Candidate]], *, slots: int, tenant_room: Mapping[uuid.UUID, int]
) -> list[Candidate]:
    """`lanes`: per endpoint, its due deliveries oldest first; lanes in round-robin order (the
    first lane of each tenant decides the tenant's turn). `tenant_room`: how many more attempts
    each tenant may have in flight (absent: no limit)."""
    tenants: dict[uuid.UUID, deque[deque[Candidate]]] = {}
    for lane in lanes:
        if lane:
            tenants.setdefault(lane[0].tenant_id, deque()).append(deque(lane))
    room = {tenant: tenant_room.get(tenant, slots) for tenant in tenants}
    chosen: list[Candidate] = []
    while len(chosen) < slots and tenants:
        for tenant in list(tenants):
            if len(chosen) >= slots:
                break
            tenant_lanes = tenants[tenant]
            if room[tenant] <= 0 or not tenant_lanes:
                del tenants[tenant]
                continue
            lane = tenant_lanes.popleft()
            chosen.append(lane.popleft())
            room[tenant] -= 1
            if lane:
                tenant_lanes.append(lane)  # the tenant's next endpoint goes first next round
    return chosen
