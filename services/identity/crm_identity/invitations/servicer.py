"""gRPC transport of `crm.identity.v1.UserAdminService` (invitations and user import): translation only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import grpc
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from crm_identity.imports.service import UserImports
from crm_identity.invitations.service import Invitations, Preview, state_of
from crm_platform.auth import Scope
from crm_platform.errors import FieldError, InvalidInput
from crm_platform.grpc_server import Call, rpc
from crm_platform.pagination import page_size
from crm_proto.crm.identity.v1 import user_admin_pb2 as pb
from crm_proto.crm.identity.v1 import user_admin_pb2_grpc

SERVICE_NAME: Final = "crm.identity.v1.UserAdminService"
# The invitation token is the credential of these two (the invitee has no account yet).
PUBLIC_METHODS: Final = frozenset(f"/{SERVICE_NAME}/{m}" for m in ("GetInvitationByToken", "AcceptInvitation"))
STATES: Final = {
    "pending": pb.INVITATION_STATE_PENDING, "accepted": pb.INVITATION_STATE_ACCEPTED,
    "revoked": pb.INVITATION_STATE_REVOKED, "expired": pb.INVITATION_STATE_EXPIRED,
    "invalid": pb.INVITATION_STATE_INVALID,
}


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def invitation_pb(row: sa.Row[Any], now: datetime) -> pb.Invitation:
    return pb.Invitation(
        id=str(row.id), user_id=str(row.user_id), email=row.email, display_name=row.display_name,
        roles=list(row.roles), team_id=str(row.team_id) if row.team_id else "", state=STATES[state_of(row, now)],
        invited_by=row.invited_by, created_at=_ts(row.created_at), sent_at=_ts(row.sent_at),
        expires_at=_ts(row.expires_at), accepted_at=_ts(row.accepted_at), revoked_at=_ts(row.revoked_at),
        send_count=row.send_count, import_id=str(row.import_id) if row.import_id else "",
    )


def preview_pb(preview: Preview) -> pb.InvitationPreview:
    return pb.InvitationPreview(
        state=STATES[preview.state], tenant_name=preview.tenant_name, tenant_slug=preview.tenant_slug,
        email=preview.email, display_name=preview.display_name, min_password_length=preview.min_password_length,
        default_locale=preview.default_locale, expires_at=_ts(preview.expires_at),
    )


def import_pb(row: sa.Row[Any]) -> pb.UserImport:
    return pb.UserImport(
        id=str(row.id), status=row.status, total=row.total, processed=row.processed, created=row.created,
        filename=row.filename, created_by=row.created_by, created_at=_ts(row.created_at),
        finished_at=_ts(row.finished_at), error=row.error,
    )


class UserAdminServicer(user_admin_pb2_grpc.UserAdminServiceServicer):
    def __init__(self, engine: Any, invitations: Invitations, imports: UserImports):
        self.engine = engine
        self.invitations = invitations
        self.imports = imports

    # -- invitations ------------------------------------------------------------------------------
    @rpc(Scope.USERS_MANAGE)
    async def CreateInvitation(self, request: pb.CreateInvitationRequest, call: Call) -> pb.Invitation:
        row = await self.invitations.invite(
            call.session, call.principal, email=request.email, display_name=request.display_name,
            roles_wanted=list(request.roles), team_id=request.team_id,
        )
        return invitation_pb(row, self.invitations.clock())

    @rpc(Scope.USERS_MANAGE)
    async def ListInvitations(self, request: pb.ListInvitationsRequest, call: Call) -> pb.ListInvitationsResponse:
        size = page_size(request.page_size)
        after = None
        if request.page_token:
            try:
                after = uuid.UUID(request.page_token)
            except ValueError:
                raise InvalidInput([FieldError("page_token", "invalid_page_token", "page_token is invalid")]) from None
        rows = await self.invitations.list(call.session, request.state, size + 1, after)
        now = self.invitations.clock()
        next_token = str(rows[size - 1].id) if len(rows) > size else ""
        return pb.ListInvitationsResponse(items=[invitation_pb(r, now) for r in rows[:size]],
                                          next_page_token=next_token)

    @rpc(Scope.USERS_MANAGE)
    async def ResendInvitation(self, request: pb.InvitationIdRequest, call: Call) -> pb.Invitation:
        row = await self.invitations.resend(call.session, call.principal, request.id)
        return invitation_pb(row, self.invitations.clock())

    @rpc(Scope.USERS_MANAGE)
    async def RevokeInvitation(self, request: pb.InvitationIdRequest, call: Call) -> pb.Invitation:
        row = await self.invitations.revoke(call.session, call.principal, request.id)
        return invitation_pb(row, self.invitations.clock())

    async def GetInvitationByToken(
        self, request: pb.InvitationTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.InvitationPreview:
        return preview_pb(await self.invitations.preview(request.token))

    async def AcceptInvitation(
        self, request: pb.AcceptInvitationRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptInvitationResponse:
        slug, user = await self.invitations.accept(request.token, request.password)
        return pb.AcceptInvitationResponse(tenant_slug=slug, email=user.email, user_id=str(user.id))

    # -- user import -------------------------------------------------------------------------------
    @rpc(Scope.USERS_MANAGE)
    async def GetUserImportTemplate(
        self, request: pb.GetUserImportTemplateRequest, call: Call
    ) -> pb.UserImportTemplate:
        name, content_type, content = await self.imports.template(call.session, request.format, request.locale)
        return pb.UserImportTemplate(filename=name, content_type=content_type, content=content)

    @rpc(Scope.USERS_MANAGE)
    async def ImportUsers(self, request: pb.ImportUsersRequest, call: Call) -> pb.UserImportReport:
        validated = await self.imports.validate(
            call.session, call.principal, request.filename, request.content, request.locale
        )
        report = pb.UserImportReport(
            dry_run=request.dry_run, total_rows=validated.total,
            errors=[pb.UserImportRowError(row=e.row, column=e.column, code=e.code, message=e.message)
                    for e in validated.errors],
        )
        if request.dry_run:
            return report
        if validated.errors:
            # Nothing is written unless every row is valid; the errors name the row and column.
            raise InvalidInput(
                [FieldError(f"rows[{e.row}].{e.column}", e.code, e.message) for e in validated.errors],
                f"{len(validated.errors)} error(s) in the file; nothing was imported",
            )
        getattr(report, "import").CopyFrom(
            import_pb(await self.imports.start(call.session, call.principal, request.filename, validated))
        )
        return report

    @rpc(Scope.USERS_MANAGE)
    async def GetUserImport(self, request: pb.GetUserImportRequest, call: Call) -> pb.UserImport:
        return import_pb(await self.imports.get(call.session, request.id))
