"""/v1/customer-owners: the users the caller may make owners of customers (owner pickers and
type-aheads), from crm.customers.v1.CustomerService/ListCustomerOwners."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from crm_gateway.api.common import BackendsDep, CallerDep, Page, PageQuery, Resource, operation, page
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import customers_pb2 as pb

router = APIRouter(prefix="/v1/customer-owners", tags=["customers"])


class CustomerOwner(Resource):
    user_id: str
    display_name: str
    team_id: str | None = Field(description="Null when the user is in no team")


class CustomerOwnerQuery(PageQuery):
    q: str = Field("", max_length=100, description="Name prefix, case-insensitive (for a type-ahead)")


@router.get(
    "",
    response_model=Page[CustomerOwner],
    **operation(
        operation_id="listCustomerOwners", summary="List the users you may make owners of customers",
        scopes=[Scope.CUSTOMERS_READ], errors=[400],
        description="Exactly the users an owner change accepts from you, without disabled users, by name: data "
                    "scope `own` lists yourself, `team` yourself and the members of your teams (and the teams "
                    "below them), `all` every user of the tenant.",
    ),
)
async def list_customer_owners(
    query: Annotated[CustomerOwnerQuery, Query()], caller: CallerDep, services: BackendsDep
) -> Page[CustomerOwner]:
    reply = await caller.call(services.customers.ListCustomerOwners, pb.ListCustomerOwnersRequest(
        page_size=query.size, page_token=query.page_token, q=query.q))
    return page([CustomerOwner(user_id=o.user_id, display_name=o.display_name, team_id=o.team_id or None)
                  for o in reply.items], reply.next_page_token)
