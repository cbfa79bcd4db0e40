"""A segment's `value_segments` part (docs/tagging.md, "Segments"): checked, stored and read back,
judged as spend for field policies, and carried into the list filter; the consumer's parsing of
reporting's `crm.value_segment.changed` (docs/events.md)."""

from __future__ import annotations

import uuid

from crm_customers.customer.repository import ListFilter
from crm_customers.segments.definition import Definition, check
from crm_customers.value_segments.events import parse_changes
from crm_platform.events import CloudEvent


def test_value_segments_are_checked_stored_and_carried_into_the_list_filter() -> None:
    cleaned, errors = check(Definition(value_segments=(" potential", "high_value", "high_value")))
    assert errors == [] and cleaned.value_segments == ("high_value", "potential")
    assert Definition.from_stored(cleaned.stored()) == cleaned
    assert cleaned.uses_spend()  # judged from spend: refused to a role that may not see it
    assert not check(Definition(all_tags=(str(uuid.uuid4()),)))[0].uses_spend()
    target = ListFilter()
    cleaned.extend(target)
    assert target.value_segments == ["high_value", "potential"]
    _, errors = check(Definition(value_segments=("vip",)))
    assert [(e.field, e.code) for e in errors] == [("definition.value_segments", "invalid_choice")]
    # Segments saved before the part existed read as none.
    assert Definition.from_stored({"all_tags": []}).value_segments == ()


def test_the_consumer_keeps_well_formed_changes_only() -> None:
    good, other = uuid.uuid4(), uuid.uuid4()
    event = CloudEvent.new(source="crm/reporting", type="crm.value_segment.changed", tenant_id=uuid.uuid4(), data={
        "changes": [{"customer_id": str(good), "segment": "high_value", "version": "3"},
                    {"customer_id": str(other), "segment": "", "version": 2},
                    {"customer_id": "nope", "segment": "normal", "version": 1},
                    {"customer_id": str(uuid.uuid4()), "segment": "vip", "version": 1}]})
    assert parse_changes(event) == [(good, "high_value", 3), (other, "", 2)]
