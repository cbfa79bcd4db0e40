"""gRPC transport for sign-in sessions and TOTP management (`AccountSecurityService`):
translation only. docs/identity.md "Sessions" and "TOTP"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from crm_identity.servicer import security_pb
from crm_identity.sessions import service as sessions
from crm_identity.users import service as users
from crm_identity.users.account import AccountSecurity
from crm_platform.auth import Scope
from crm_platform.grpc_server import Call, rpc
from crm_proto.crm.identity.v1 import account_security_pb2 as pb
from crm_proto.crm.identity.v1 import account_security_pb2_grpc, identity_pb2

SERVICE_NAME = "crm.identity.v1.AccountSecurityService"


def _ts(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def session_pb(view: sessions.SessionView) -> pb.SignInSession:
    return pb.SignInSession(id=view.id, client_id=view.client_id, created_at=_ts(view.created_at),
                            last_used_at=_ts(view.last_used_at), ip=view.ip, user_agent=view.user_agent,
                            current=view.current)


class AccountSecurityServicer(account_security_pb2_grpc.AccountSecurityServiceServicer):
    def __init__(self, engine: Any, account: AccountSecurity):
        self.engine = engine
        self.account = account

    @rpc()
    async def ListMySessions(self, request: pb.ListMySessionsRequest, call: Call) -> pb.ListSessionsResponse:
        user = await self.account.me(call.session, call.principal)
        views = await sessions.list_sessions(call.session, call.principal.tenant_id, user.id, datetime.now(UTC),
                                             current=call.principal.session_id)
        return pb.ListSessionsResponse(items=[session_pb(v) for v in views])

    @rpc()
    async def RevokeMySession(self, request: pb.RevokeMySessionRequest, call: Call) -> pb.RevokeSessionsResponse:
        await sessions.revoke_mine(call.session, call.principal, request.id, datetime.now(UTC))
        return pb.RevokeSessionsResponse(revoked=1)

    @rpc()
    async def RevokeMyOtherSessions(
        self, request: pb.RevokeMyOtherSessionsRequest, call: Call
    ) -> pb.RevokeSessionsResponse:
        await self.account.me(call.session, call.principal)
        return pb.RevokeSessionsResponse(revoked=await sessions.revoke_my_others(call.session, call.principal))

    @rpc(Scope.USERS_MANAGE)
    async def ListUserSessions(self, request: pb.ListUserSessionsRequest, call: Call) -> pb.ListSessionsResponse:
        user = await users.get_user(call.session, request.user_id)
        views = await sessions.list_sessions(call.session, call.principal.tenant_id, user.id, datetime.now(UTC),
                                             current=call.principal.session_id)
        return pb.ListSessionsResponse(items=[session_pb(v) for v in views])

    @rpc(Scope.USERS_MANAGE)
    async def RevokeUserSessions(
        self, request: pb.RevokeUserSessionsRequest, call: Call
    ) -> pb.RevokeSessionsResponse:
        user = await users.get_user(call.session, request.user_id)
        count = await sessions.revoke_all(call.session, call.principal, call.principal.tenant_id, user.id,
                                          sessions.SIGNED_OUT_BY_ADMIN)
        return pb.RevokeSessionsResponse(revoked=count)

    @rpc()
    async def DisableTotp(self, request: pb.DisableTotpRequest, call: Call) -> identity_pb2.MySecurity:
        return security_pb(await self.account.disable_totp(call.session, call.principal, request.code))

    @rpc()
    async def RegenerateRecoveryCodes(
        self, request: pb.RegenerateRecoveryCodesRequest, call: Call
    ) -> identity_pb2.RecoveryCodes:
        codes = await self.account.regenerate_recovery_codes(call.session, call.principal, request.code)
        return identity_pb2.RecoveryCodes(codes=codes)
