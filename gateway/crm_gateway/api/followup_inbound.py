"""/v1/followup-inbound-address: the tenant's inbound email address (HTTP <->
crm.followups.v1.InboundMailService; docs/followups.md#email-into-the-timeline). Mail BCC'd or
forwarded to it becomes follow-up records (method email) of the customers it names."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from crm_gateway.api.common import BackendsDep, CallerDep, Resource, operation
from crm_gateway.clients import Backends, Caller
from crm_platform.auth import Scope
from crm_proto.crm.followups.v1 import inbound_pb2 as pb
from crm_proto.crm.identity.v1 import identity_pb2 as ipb

router = APIRouter(prefix="/v1/followup-inbound-address", tags=["follow-ups"])


class InboundAddress(Resource):
    address: str = Field(description="`<company identifier>+<tenant>.<token>@<inbound domain>`: BCC it")
    domain: str


async def address_out(caller: Caller, services: Backends, reply: Any) -> InboundAddress:
    tenant = await caller.call(services.identity.GetTenant, ipb.GetTenantRequest())
    return InboundAddress(address=f"{tenant.slug}+{reply.local_part}@{reply.domain}", domain=reply.domain)


@router.get("", response_model=InboundAddress, **operation(
    operation_id="getFollowupInboundAddress", summary="The tenant's inbound email address",
    scopes=[Scope.FOLLOWUPS_READ],
    description="BCC (or forward) mail with customers to it: each customer whose email address is in the mail's "
                "From, To or Cc gets a follow-up record of method email (subject and text), by the tenant user "
                "who sent it."))
async def get_address(caller: CallerDep, services: BackendsDep) -> InboundAddress:
    reply = await caller.call(services.inbound_mail.GetInboundAddress, pb.GetInboundAddressRequest())
    return await address_out(caller, services, reply)


@router.post(":rotate", response_model=InboundAddress, **operation(
    operation_id="rotateFollowupInboundAddress", summary="A new inbound address; the old one stops working",
    scopes=[Scope.FOLLOWUPS_MANAGE], errors=[413]))
async def rotate_address(caller: CallerDep, services: BackendsDep) -> InboundAddress:
    reply = await caller.call(services.inbound_mail.RotateInboundAddress, pb.RotateInboundAddressRequest())
    return await address_out(caller, services, reply)
