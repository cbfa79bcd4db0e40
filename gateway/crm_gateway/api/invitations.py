"""/v1/invitations: invite people by email (identity's UserAdminService; docs/identity.md#invitations).
The invited user exists at once, `invited`, without a usable password; the emailed link
`{public_url}/invite/{token}` (the web page in `web/invitations.py`) lets them choose one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import ConfigDict, Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Name,
    Page,
    PageQuery,
    RequestBody,
    Resource,
    operation,
    page,
    timestamp,
)
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import user_admin_pb2 as pb

router = APIRouter(prefix="/v1/invitations", tags=["users"])

STATE_NAMES: Final = {
    pb.INVITATION_STATE_PENDING: "pending", pb.INVITATION_STATE_ACCEPTED: "accepted",
    pb.INVITATION_STATE_REVOKED: "revoked", pb.INVITATION_STATE_EXPIRED: "expired",
    pb.INVITATION_STATE_INVALID: "invalid",
}


class Invitation(Resource):
    id: str
    user_id: str = Field(description="The invited user (status `invited` until accepted)")
    email: str
    display_name: str
    roles: list[str]
    team_id: str | None
    state: str = Field(description="pending, expired (pending past `expires_at`), accepted or revoked")
    invited_by: str = Field(description="A user id or `client:<client id>`")
    created_at: datetime | None
    sent_at: datetime | None = Field(description="When the current link was sent")
    expires_at: datetime | None = Field(description="The current link works until then (7 days)")
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None
    send_count: int = Field(description="1 + the number of resends")
    import_id: str | None = Field(None, description="The user import that sent it, if any")


def invitation_out(message: Any) -> Invitation:
    return Invitation(
        id=message.id, user_id=message.user_id, email=message.email, display_name=message.display_name,
        roles=list(message.roles), team_id=message.team_id or None, state=STATE_NAMES.get(message.state, "pending"),
        invited_by=message.invited_by, created_at=timestamp(message.created_at), sent_at=timestamp(message.sent_at),
        expires_at=timestamp(message.expires_at), accepted_at=timestamp(message.accepted_at),
        revoked_at=timestamp(message.revoked_at), send_count=message.send_count, import_id=message.import_id or None,
    )


class InvitationCreate(RequestBody):
    email: str = Field(max_length=254)
    display_name: Name = Field(max_length=100)
    roles: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=20,
        description="Built-in (tenant_admin, sales_manager, sales_rep, customer_service) or custom role ids; "
                    "default sales_rep. None may grant a permission the caller lacks (403 `grant_exceeds_own`).",
    )
    team_id: str | None = Field(None, max_length=100)


class InvitationQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    state: Literal["pending", "accepted", "revoked", "all"] = Field(
        "pending", description="`pending` includes expired links (state `expired`)"
    )


InvitationId = Path(description="The invitation's id", max_length=100)


@router.post(
    "",
    response_model=Invitation,
    **operation(operation_id="createInvitation", summary="Invite a user by email", scopes=[Scope.USERS_MANAGE],
                errors=[*WRITE_ERRORS, 409], status_code=201,
                description="Same checks as `POST /v1/users` without a password: valid email, name, existing "
                            "roles and team, no permission beyond the caller's (403 `grant_exceeds_own`), "
                            "email not taken (409 `email_taken`). The email, in the tenant's default language, "
                            "goes out once the invitation is saved (retried while the mail server is away)."),
)
async def create_invitation(body: InvitationCreate, response: Response, caller: CallerDep,
                            services: BackendsDep) -> Invitation:
    reply = await caller.call(services.user_admin.CreateInvitation, pb.CreateInvitationRequest(
        email=body.email, display_name=body.display_name, roles=body.roles, team_id=body.team_id or ""))
    response.headers["Location"] = f"{router.prefix}/{reply.id}"
    return invitation_out(reply)


@router.get(
    "",
    response_model=Page[Invitation],
    **operation(operation_id="listInvitations", summary="List invitations (pending by default), newest first",
                scopes=[Scope.USERS_MANAGE], errors=[400]),
)
async def list_invitations(query: Annotated[InvitationQuery, Query()], caller: CallerDep,
                           services: BackendsDep) -> Page[Invitation]:
    reply = await caller.call(services.user_admin.ListInvitations, pb.ListInvitationsRequest(
        state=query.state, page_size=query.size, page_token=query.page_token))
    return page([invitation_out(i) for i in reply.items], reply.next_page_token)


@router.post(
    "/{invitation_id}:resend",
    response_model=Invitation,
    **operation(operation_id="resendInvitation", summary="Send a new link (the previous one stops working)",
                scopes=[Scope.USERS_MANAGE], errors=[400, 404, 409, 413],
                description="A new token valid 7 days; also re-opens a revoked invitation. "
                            "409 `invitation_accepted` once accepted."),
)
async def resend_invitation(caller: CallerDep, services: BackendsDep,
                            invitation_id: Annotated[str, InvitationId]) -> Invitation:
    reply = await caller.call(services.user_admin.ResendInvitation, pb.InvitationIdRequest(id=invitation_id))
    return invitation_out(reply)


@router.post(
    "/{invitation_id}:revoke",
    response_model=Invitation,
    **operation(operation_id="revokeInvitation", summary="Revoke an invitation (its link stops working)",
                scopes=[Scope.USERS_MANAGE], errors=[400, 404, 409, 413],
                description="The invited user is disabled until a resend. Revoking twice is harmless; "
                            "409 `invitation_accepted` once accepted."),
)
async def revoke_invitation(caller: CallerDep, services: BackendsDep,
                            invitation_id: Annotated[str, InvitationId]) -> Invitation:
    reply = await caller.call(services.user_admin.RevokeInvitation, pb.InvitationIdRequest(id=invitation_id))
    return invitation_out(reply)
