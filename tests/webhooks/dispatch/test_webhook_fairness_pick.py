"""The slot order on its own (dispatch/fairness.py): tenants take turns, then their endpoints."""

from __future__ import annotations

import uuid

from crm_webhooks.dispatch.fairness import Candidate, pick

A, B, C = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


def lane(tenant: uuid.UUID, endpoint: int, count: int) -> list[Candidate]:
    endpoint_id = uuid.UUID(int=1000 + endpoint)
    return [Candidate(uuid.uuid4(), tenant, endpoint_id) for _ in range(count)]


def tenants_of(chosen: list[Candidate]) -> list[uuid.UUID]:
    return [c.tenant_id for c in chosen]


def test_every_tenant_gets_a_slot_before_any_gets_a_second() -> None:
    big, small, tiny = lane(B, 1, 100), lane(C, 2, 2), lane(A, 3, 1)
    chosen = pick([big, small, tiny], slots=5, tenant_room={})
    assert tenants_of(chosen) == [B, C, A, B, C]
    assert chosen[0] is big[0] and chosen[3] is big[1]  # oldest first within a lane


def test_the_first_lanes_tenant_goes_first_when_slots_are_scarce() -> None:
    # The claim orders lanes least recently served tenant first: a quiet tenant A beats busy B.
    assert tenants_of(pick([lane(A, 1, 1), lane(B, 2, 100)], slots=1, tenant_room={})) == [A]


def test_a_tenants_endpoints_take_turns() -> None:
    first, second = lane(B, 1, 10), lane(B, 2, 10)
    chosen = pick([first, second], slots=4, tenant_room={})
    assert [c.endpoint_id for c in chosen] == [first[0].endpoint_id, second[0].endpoint_id] * 2


def test_the_tenant_cap_limits_a_tenant_and_frees_the_rest_for_others() -> None:
    chosen = pick([lane(B, 1, 10), lane(B, 2, 10), lane(C, 3, 10)], slots=8, tenant_room={B: 2, C: 8})
    assert tenants_of(chosen).count(B) == 2 and tenants_of(chosen).count(C) == 6


def test_no_room_no_work_no_slots() -> None:
    assert pick([lane(B, 1, 5)], slots=3, tenant_room={B: 0}) == []
    assert pick([[], []], slots=3, tenant_room={}) == []
    assert pick([lane(B, 1, 5)], slots=0, tenant_room={}) == []
