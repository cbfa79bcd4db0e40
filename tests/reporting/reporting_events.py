"""Events as the other services publish them: CloudEvents whose data is the proto3 JSON of the
messages in proto/crm/events/v1 (so int64 arrives as a string, timestamps as RFC 3339)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from crm_platform.events import CloudEvent, event_type, proto_data
from crm_proto.crm.customers.v1 import customers_pb2
from crm_proto.crm.events.v1 import events_pb2
from crm_proto.crm.followups.v1 import followups_pb2


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def customer_event(
    tenant: uuid.UUID,
    customer_id: uuid.UUID,
    *,
    verb: str = "created",
    version: int = 1,
    industry: str = "",
    **fields: Any,
) -> CloudEvent:
    now = datetime.now(UTC)
    customer = customers_pb2.Customer(
        id=str(customer_id), name="客户", industry=industry, version=version,
        created_at=timestamp(now), updated_at=timestamp(now), **fields,
    )
    message = (
        events_pb2.CustomerUpdated(customer=customer, changed_fields=["industry"])
        if verb == "updated" else events_pb2.CustomerCreated(customer=customer)
    )
    return CloudEvent.new(
        source="customers", type=event_type("customer", verb), tenant_id=tenant,
        data=proto_data(message), subject=str(customer_id),
    )


def tag_applied_event(tenant: uuid.UUID, customer_id: uuid.UUID) -> CloudEvent:
    message = events_pb2.TagApplied(customer_id=str(customer_id), tag_id=str(uuid.uuid4()), tag_name="VIP",
                                    source="manual")
    return CloudEvent.new(source="tagging", type=event_type("tag", "applied"), tenant_id=tenant,
                          data=proto_data(message))


def followup_task_created_event(tenant: uuid.UUID, customer_id: uuid.UUID) -> CloudEvent:
    task = followups_pb2.Task(id=str(uuid.uuid4()), customer_id=str(customer_id), title="call", status="open")
    return CloudEvent.new(source="followups", type=event_type("followup_task", "created"), tenant_id=tenant,
                          data=proto_data(events_pb2.FollowupTaskCreated(task=task)))
