"""/v1/customers/{id}/timeline (API.md): a customer's timeline, HTTP <-> crm.customers.v1.CustomerActivityService."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from google.protobuf import json_format
from pydantic import Field

from crm_gateway.api.common import BackendsDep, CallerDep, Page, PageQuery, Resource, operation, page, timestamp
from crm_gateway.api.customers import plain_json
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import activity_pb2 as pb

router = APIRouter(prefix="/v1/customers", tags=["customers"])

KINDS = ("created, updated, owner_changed, status_changed, deleted, restored, revealed, tag_applied, tag_removed, "
         "task_created, task_completed, order_recorded")


class ActivityEntry(Resource):
    id: str
    customer_id: str
    occurred_at: datetime | None
    kind: str = Field(description=KINDS)
    actor: str | None = Field(description='User id, "client:<id>", or null for automatic work of another service')
    actor_name: str | None = Field(description="The acting user's display name; null for API clients, automatic "
                                               "work and users not known by name")
    data: dict[str, Any] = Field(
        description='Per kind. Field changes: `{"changes": [{"field", "from", "to"}], "reason"}` (owner changes '
                    'also `from_name` / `to_name`); a sensitive or masked field appears as `{"field", "changed": '
                    'true}` without values, a hidden one not at all. '
                    '`revealed`: `{"fields"}`; tags: `{"tag_id", "tag_name", "source"}`; tasks: `{"task_id", '
                    '"title", "due_at"}`; orders: the order\'s id, amount and currency.'
    )


class ActivityQuery(PageQuery):
    kind: str = Field("", description=f"Only these kinds, comma-separated: {KINDS}")


def entry_out(message: Any) -> ActivityEntry:
    return ActivityEntry(
        id=message.id, customer_id=message.customer_id, occurred_at=timestamp(message.occurred_at),
        kind=message.kind, actor=message.actor or None, actor_name=message.actor_name or None,
        data=plain_json(json_format.MessageToDict(message.data, preserving_proto_field_name=True)),
    )


@router.get(
    "/{customer_id}/timeline",
    response_model=Page[ActivityEntry],
    **operation(operation_id="listCustomerActivity", summary="A customer's activity timeline, newest first",
                scopes=[Scope.CUSTOMERS_READ], errors=[400, 404],
                description="Changes to the record, status changes with their reason, owner changes, reveals, "
                            "tags applied, follow-up tasks and orders. Same data scope as the customer (404 "
                            "outside it); your role's field policies apply to the values shown."),
)
async def list_activity(
    customer_id: str, query: Annotated[ActivityQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[ActivityEntry]:
    kinds = [k.strip() for k in query.kind.split(",") if k.strip()]
    reply = await caller.call(
        services.customer_activity.ListCustomerActivity,
        pb.ListCustomerActivityRequest(customer_id=customer_id, kinds=kinds, page_size=query.size,
                                       page_token=query.page_token),
    )
    return page([entry_out(e) for e in reply.items], reply.next_page_token)
