"""POST /v1/customers/{id}:erase: HTTP <-> crm.customers.v1.CustomerErasureService (permanent
erasure in every service; docs/customers.md, "Erasure")."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Multiline,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import erasure_pb2 as pb

router = APIRouter(prefix="/v1/customers", tags=["customers"])


class EraseBody(RequestBody):
    confirm: str = Field(max_length=300, description="The customer's code or name, typed to confirm")
    reason: Multiline = Field(max_length=500, description="Why the customer is erased; kept in the tombstone")


class CustomerErasure(Resource):
    customer_id: str
    erased_at: datetime | None
    erased_by: str = Field(description="User id, or client:<id> for an API client")
    reason: str


@router.post(
    "/{customer_id}:erase",
    response_model=CustomerErasure,
    **operation(
        operation_id="eraseCustomer", summary="Permanently erase a customer in every service",
        scopes=[Scope.CUSTOMERS_DELETE], errors=[*WRITE_ERRORS, 404],
        description=(
            "Cannot be undone. Works on live and soft-deleted customers in the caller's data scope. "
            "`confirm` must be the customer's code or name (400 `confirm_mismatch` otherwise). The customer, "
            "its status history and related rows are deleted at once; a tombstone keeps only the id, when, "
            "by whom and why. `crm.customer.erased` then makes every other service (tags, follow-ups, "
            "reports, webhook deliveries) delete what it holds. Afterwards the id answers 404 `customer_erased`."
        ),
    ),
)
async def erase_customer(customer_id: str, body: EraseBody, response: Response, caller: CallerDep,
                         services: BackendsDep) -> CustomerErasure:
    reply = await caller.call(
        services.erasure.EraseCustomer,
        pb.EraseCustomerRequest(id=customer_id, confirm=body.confirm, reason=body.reason),
    )
    response.headers["Cache-Control"] = "no-store"
    return CustomerErasure(customer_id=reply.customer_id, erased_at=timestamp(reply.erased_at),
                           erased_by=reply.erased_by, reason=reply.reason)
