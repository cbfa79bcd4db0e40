"""Sign-in sessions and TOTP management over REST (identity's `AccountSecurityService`,
crm_identity/sessions/ and users/account.py):

- `GET /v1/users/me/sessions`, `DELETE /v1/users/me/sessions/{id}`, `POST /v1/users/me/sessions:revoke-others`:
  the signed-in user's own sessions (a user's token, any scope);
- `GET /v1/users/{id}/sessions`, `POST /v1/users/{id}/sessions:revoke-all` (`users:manage`);
- `POST /v1/users/me/mfa:disable`, `POST /v1/users/me/mfa/recovery-codes:regenerate`.

A session is a refresh-token family: revoking it stops its refresh token at once; access tokens
already issued stay valid until they expire (15 minutes by default)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Security
from pydantic import Field

from crm_gateway.api.common import (
    PARAMETER_TEXT,
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    RequestBody,
    Resource,
    operation,
    timestamp,
)
from crm_gateway.api.user_security import MySecurity
from crm_gateway.auth import authenticate
from crm_platform.auth import Scope
from crm_proto.crm.identity.v1 import account_security_pb2 as pb

router = APIRouter(tags=["sessions and two-step verification"])

ME = "/v1/users/me"
SessionId = Path(description="The session's id", max_length=100)
UserId = Path(description="The user's id", max_length=100)
ACCESS_TOKEN_NOTE = ("Its refresh token stops working at once; access tokens already issued stay valid until "
                     "they expire (15 minutes by default).")


class Session(Resource):
    id: str = Field(description="The session (refresh-token family) id")
    client_id: str = Field(description="The OAuth client it was granted to (`crm-web` for the web UI)")
    created_at: datetime | None = Field(description="When the user signed in")
    last_used_at: datetime | None = Field(description="When its refresh token was last used")
    ip: str = Field(description="Client address at the last use (proxy chain)")
    user_agent: str = Field(description="Browser or app at the last use")
    current: bool = Field(description="The session the calling token belongs to")


class SessionList(Resource):
    items: list[Session]


class RevokedSessions(Resource):
    revoked: int = Field(description="How many sessions were ended")


class MfaCode(RequestBody):
    code: str = Field(max_length=64, description="A current TOTP code (or, to turn TOTP off, an unused recovery "
                                                 "code)", json_schema_extra={"writeOnly": True})


class TotpCode(RequestBody):
    code: str = Field(max_length=64, description="A current TOTP code", json_schema_extra={"writeOnly": True})


class RecoveryCodes(Resource):
    codes: list[str] = Field(description="10 new one-time recovery codes, shown only now")


def _user_only(operation_id: str, summary: str, errors: list[int], description: str,
               status_code: int = 200) -> dict[str, Any]:
    """Operations on the caller's own account: a user's token with any scope (a client's gets 403)."""
    return {
        **operation(operation_id=operation_id, summary=summary, scopes=[], errors=[401, 403, *errors],
                    description=description + " Needs a user's token (any scope); a client's token gets 403 "
                                              "`user_token_required`.", status_code=status_code),
        "dependencies": [Security(authenticate, scopes=[]), PARAMETER_TEXT],
    }


def sessions_out(reply: Any) -> SessionList:
    return SessionList(items=[
        Session(id=s.id, client_id=s.client_id, created_at=timestamp(s.created_at),
                last_used_at=timestamp(s.last_used_at), ip=s.ip, user_agent=s.user_agent, current=s.current)
        for s in reply.items
    ])


@router.get(f"{ME}/sessions", response_model=SessionList,
            **_user_only("listMySessions", "List your sign-in sessions", [],
                         "Live sessions, most recently used first; `current` marks the one this token belongs to."))
async def list_my_sessions(caller: CallerDep, services: BackendsDep) -> SessionList:
    return sessions_out(await caller.call(services.account_security.ListMySessions, pb.ListMySessionsRequest()))


@router.post(f"{ME}/sessions:revoke-others", response_model=RevokedSessions,
             **_user_only("revokeMyOtherSessions", "Sign out everywhere else", [*WRITE_ERRORS],
                          "Ends every session of yours except the one this token belongs to. " + ACCESS_TOKEN_NOTE))
async def revoke_my_other_sessions(caller: CallerDep, services: BackendsDep) -> RevokedSessions:
    reply = await caller.call(services.account_security.RevokeMyOtherSessions, pb.RevokeMyOtherSessionsRequest())
    return RevokedSessions(revoked=reply.revoked)


@router.delete(f"{ME}/sessions/{{session_id}}", response_model=RevokedSessions,
               **_user_only("revokeMySession", "End one of your sessions", [404],
                            "Another user's session, an unknown or an ended one is 404. " + ACCESS_TOKEN_NOTE))
async def revoke_my_session(session_id: Annotated[str, SessionId], caller: CallerDep,
                            services: BackendsDep) -> RevokedSessions:
    reply = await caller.call(services.account_security.RevokeMySession, pb.RevokeMySessionRequest(id=session_id))
    return RevokedSessions(revoked=reply.revoked)


@router.post(f"{ME}/mfa:disable", response_model=MySecurity,
             **_user_only("disableMyTotp", "Turn two-step verification off", [*WRITE_ERRORS, 409, 429],
                          "Needs a current TOTP code or an unused recovery code (a wrong one counts towards the "
                          "sign-in lockout). 409 `mfa_required_by_policy` when the tenant requires TOTP for "
                          "your role; 409 `mfa_not_enabled` when it is off."))
async def disable_my_totp(body: MfaCode, caller: CallerDep, services: BackendsDep) -> MySecurity:
    reply = await caller.call(services.account_security.DisableTotp, pb.DisableTotpRequest(code=body.code))
    return MySecurity(
        mfa_enabled=reply.mfa_enabled, recovery_codes_remaining=reply.recovery_codes_remaining,
        must_change_password=reply.must_change_password, password_changed_at=timestamp(reply.password_changed_at),
        min_password_length=reply.min_password_length,
    )


@router.post(f"{ME}/mfa/recovery-codes:regenerate", response_model=RecoveryCodes,
             **_user_only("regenerateMyRecoveryCodes", "Replace your recovery codes", [*WRITE_ERRORS, 409, 429],
                          "Needs a current TOTP code; the old recovery codes stop working."))
async def regenerate_my_recovery_codes(body: TotpCode, caller: CallerDep, services: BackendsDep) -> RecoveryCodes:
    reply = await caller.call(services.account_security.RegenerateRecoveryCodes,
                              pb.RegenerateRecoveryCodesRequest(code=body.code))
    return RecoveryCodes(codes=list(reply.codes))


@router.get("/v1/users/{user_id}/sessions", response_model=SessionList,
            **operation(operation_id="listUserSessions", summary="List a user's sign-in sessions",
                        scopes=[Scope.USERS_MANAGE], errors=[404]))
async def list_user_sessions(user_id: Annotated[str, UserId], caller: CallerDep,
                             services: BackendsDep) -> SessionList:
    return sessions_out(await caller.call(services.account_security.ListUserSessions,
                                          pb.ListUserSessionsRequest(user_id=user_id)))


@router.post("/v1/users/{user_id}/sessions:revoke-all", response_model=RevokedSessions,
             **operation(operation_id="revokeUserSessions", summary="Sign a user out everywhere",
                         scopes=[Scope.USERS_MANAGE], errors=[*WRITE_ERRORS, 404],
                         description="E.g. a lost laptop: ends every session of the user. " + ACCESS_TOKEN_NOTE))
async def revoke_user_sessions(user_id: Annotated[str, UserId], caller: CallerDep,
                               services: BackendsDep) -> RevokedSessions:
    reply = await caller.call(services.account_security.RevokeUserSessions,
                              pb.RevokeUserSessionsRequest(user_id=user_id))
    return RevokedSessions(revoked=reply.revoked)
