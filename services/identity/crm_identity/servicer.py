"""gRPC transport for identity: translation only."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp

from crm_identity.audit import log as audit
from crm_identity.keys.service import KeyRing
from crm_identity.oauth.service import Authorization, OAuthService, TokenGrant
from crm_identity.roles import service as roles
from crm_identity.roles.catalogue import catalogue
from crm_identity.roles.service import RoleView
from crm_identity.teams import service as teams
from crm_identity.tenants import password_policy
from crm_identity.tenants.service import TenantService
from crm_identity.users import preferences
from crm_identity.users import service as users
from crm_identity.users.account import AccountSecurity, SecurityState
from crm_identity.users.passwords import PasswordPolicy
from crm_platform.auth import Scope, principal
from crm_platform.errors import FieldError, InvalidInput, NotFound, Unauthenticated
from crm_platform.grpc_server import Call, rpc
from crm_platform.pagination import PageTokens, page_size
from crm_platform.service_tokens import SERVICE_TOKEN_TTL, credential_ok
from crm_proto.crm.identity.v1 import identity_pb2 as pb
from crm_proto.crm.identity.v1 import identity_pb2_grpc

SERVICE_NAME = "crm.identity.v1.IdentityService"
PUBLIC_METHODS = frozenset(
    f"/{SERVICE_NAME}/{m}"
    for m in (
        "GetJwks", "CreateTenant", "GetClient", "AuthorizeUser", "ExchangeAuthorizationCode", "IssueClientToken",
        # These carry their own credential (client secret, refresh token or consent ticket).
        "RefreshAccessToken", "RevokeToken", "IntrospectToken", "ResolveConsent",
        # The login ticket of a sign-in past its password (users/login.py).
        "ContinueLogin",
        # A platform service's own credential (crm_platform/service_tokens.py).
        "IssueServiceToken",
    )
)
TENANT_STATUS = {
    "provisioning": pb.TENANT_STATUS_PROVISIONING,
    "active": pb.TENANT_STATUS_ACTIVE,
    "suspended": pb.TENANT_STATUS_SUSPENDED,
    "offboarded": pb.TENANT_STATUS_OFFBOARDED,
}


def _ts(value: datetime | None) -> Timestamp:
    stamp = Timestamp()
    if value is not None:
        stamp.FromDatetime(value)
    return stamp


def tenant_pb(row: sa.Row[Any]) -> pb.Tenant:
    return pb.Tenant(
        id=str(row.id),
        slug=row.slug,
        name=row.name,
        status=TENANT_STATUS[row.status],
        default_locale=row.default_locale,
        created_at=_ts(row.created_at),
        time_zone=row.time_zone,
    )


def user_pb(row: sa.Row[Any]) -> pb.User:
    return pb.User(
        id=str(row.id),
        email=row.email,
        display_name=row.display_name,
        roles=list(row.roles),
        created_at=_ts(row.created_at),
        must_change_password=bool(row.must_change_password),
        mfa_enabled=row.totp_enabled_at is not None,
        team_id=str(row.team_id) if row.team_id else "",
        version=row.version,
        updated_at=_ts(row.updated_at),
        disabled=bool(row.disabled),
    )


def role_pb(view: RoleView) -> pb.Role:
    return pb.Role(
        id=view.id, name=view.name, description=view.description, builtin=view.builtin, scopes=view.scopes,
        data_scope=view.data_scope, field_policies=view.field_policies, version=view.version,
        created_at=_ts(view.created_at), updated_at=_ts(view.updated_at),
    )


def team_pb(row: sa.Row[Any], members: int = 0) -> pb.Team:
    return pb.Team(
        id=str(row.id), name=row.name, parent_id=str(row.parent_id) if row.parent_id else "",
        manager_id=str(row.manager_id) if row.manager_id else "", version=row.version, member_count=members,
        created_at=_ts(row.created_at), updated_at=_ts(row.updated_at),
    )


def _masked(request: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The fields an update_mask names (unknown names are ignored), read from the request."""
    values: dict[str, Any] = {}
    for name in request.update_mask:
        if name in names:
            value = getattr(request, name)
            values[name] = list(value) if not isinstance(value, str) else value
    return values


def client_pb(row: sa.Row[Any]) -> pb.OAuthClient:
    return pb.OAuthClient(
        client_id=row.client_id,
        tenant_id=str(row.tenant_id or ""),
        name=row.name,
        kind=row.kind,
        grant_types=list(row.grant_types),
        redirect_uris=list(row.redirect_uris),
        scopes=list(row.scopes),
        created_at=_ts(row.created_at),
        revoked_at=_ts(row.revoked_at) if row.revoked_at else None,
        secret_rotated_at=_ts(row.secret_rotated_at) if row.secret_rotated_at else None,
    )


def authorization_pb(outcome: Authorization) -> pb.AuthorizeUserResponse:
    reply = pb.AuthorizeUserResponse(code=outcome.code, scope=outcome.scope, consent_ticket=outcome.consent_ticket)
    if outcome.login is not None:
        reply.next_step = outcome.login.next_step
        reply.login_ticket = outcome.login.ticket
        reply.totp_secret = outcome.login.totp_secret
        reply.totp_uri = outcome.login.totp_uri
        reply.recovery_codes.extend(outcome.login.recovery_codes)
    return reply


def policy_pb(policy: PasswordPolicy, updated_at: datetime | None) -> pb.PasswordPolicy:
    return pb.PasswordPolicy(
        min_length=policy.min_length, reject_common_passwords=policy.reject_common_passwords,
        mfa_required_for_admins=policy.mfa_required_for_admins, version=policy.version,
        updated_at=_ts(updated_at) if updated_at else None,
    )


def preferences_pb(prefs: preferences.Preferences) -> pb.MyPreferences:
    return pb.MyPreferences(display_name=prefs.display_name, locale=prefs.locale, time_zone=prefs.time_zone)


def security_pb(state: SecurityState) -> pb.MySecurity:
    return pb.MySecurity(
        mfa_enabled=state.mfa_enabled, recovery_codes_remaining=state.recovery_codes_remaining,
        must_change_password=state.must_change_password,
        password_changed_at=_ts(state.password_changed_at) if state.password_changed_at else None,
        min_password_length=state.min_password_length,
    )


def token_pb(grant: TokenGrant) -> pb.TokenResponse:
    return pb.TokenResponse(
        access_token=grant.access_token, token_type="Bearer", expires_in=grant.expires_in, scope=grant.scope,
        refresh_token=grant.refresh_token,
    )


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(
        self, engine: Any, keys: KeyRing, tenants: TenantService, oauth: OAuthService,
        account: AccountSecurity | None = None, page_tokens: PageTokens | None = None,
        service_key: str = "",
    ):
        self.engine = engine
        self.page_tokens = page_tokens or PageTokens("")
        # The key every service shares, under which a service's credential is checked.
        self.service_key = service_key
        self.keys = keys
        self.tenants = tenants
        self.oauth = oauth
        self._account = account

    @property
    def account(self) -> AccountSecurity:
        if self._account is None:  # wiring error: main.py builds it (it needs the master key)
            raise RuntimeError("IdentityServicer was built without AccountSecurity")
        return self._account

    async def GetJwks(self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext) -> pb.GetJwksResponse:
        return pb.GetJwksResponse(jwks_json=json.dumps(self.keys.jwks()))

    async def CreateTenant(
        self, request: pb.CreateTenantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateTenantResponse:
        tenant, admin = await self.tenants.create(
            name=request.name,
            slug=request.slug,
            admin_email=request.admin_email,
            admin_password=request.admin_password,
            admin_display_name=request.admin_display_name,
            default_locale=request.default_locale,
        )
        return pb.CreateTenantResponse(tenant=tenant_pb(tenant), admin=user_pb(admin))

    @rpc()
    async def GetTenant(self, request: pb.GetTenantRequest, call: Call) -> pb.Tenant:
        return tenant_pb(await self.tenants.get(call.principal.tenant_id))

    @rpc(Scope.USERS_MANAGE)
    async def UpdateTenant(self, request: pb.UpdateTenantRequest, call: Call) -> pb.Tenant:
        values = {name: str(getattr(request, name, "")) for name in request.update_mask}
        return tenant_pb(await self.tenants.update_settings(call.principal, values))

    @rpc(Scope.USERS_MANAGE)
    async def CreateUser(self, request: pb.CreateUserRequest, call: Call) -> pb.User:
        policy, _ = await password_policy.get_policy(call.session)
        assigned = list(request.roles) or ["sales_rep"]
        errors: list[FieldError] = []
        team_id = await users.team_reference(call.session, request.team_id, errors)
        if errors:
            raise InvalidInput(errors)
        if not users.validate_new_user(request.email, request.password, request.display_name, assigned, policy):
            assigned = await roles.check_assignable(call.session, call.principal, assigned)
        # An admin chose this password: the user replaces it at first sign-in.
        row = await users.create_user(
            call.session, request.email, request.password, request.display_name, assigned,
            policy=policy, must_change_password=True, team_id=team_id, tenant_id=call.principal.tenant_id,
        )
        await audit.record_by(call.session, call.principal, audit.USER_CREATED, target_type="user",
                              target_id=str(row.id), details=_user_details(row))
        return user_pb(row)

    @rpc(Scope.USERS_MANAGE)
    async def ListUsers(self, request: pb.ListUsersRequest, call: Call) -> pb.ListUsersResponse:
        size = min(request.page_size or 50, 500)
        after = None
        if request.page_token:
            # Opaque, signed tokens like every list (a malformed or forged one is a 400, not a 404).
            cursor = self.page_tokens.decode(request.page_token)
            try:
                after = uuid.UUID(cursor["id"])
            except (KeyError, TypeError, ValueError):
                raise InvalidInput([FieldError("page_token", "invalid_page_token", "page_token is invalid")]) from None
        rows = await users.list_users(call.session, size + 1, after)
        next_token = self.page_tokens.encode({"id": str(rows[size - 1].id)}) if len(rows) > size else ""
        return pb.ListUsersResponse(items=[user_pb(r) for r in rows[:size]], next_page_token=next_token)

    async def GetClient(self, request: pb.GetClientRequest, context: grpc.aio.ServicerContext) -> pb.OAuthClient:
        return client_pb(await self.oauth.get_client(request.client_id))

    @rpc(Scope.CLIENTS_MANAGE)
    async def CreateClient(self, request: pb.CreateClientRequest, call: Call) -> pb.CreateClientResponse:
        row, secret = await self.oauth.create_client(
            call.principal.tenant_id,
            request.name,
            request.kind,
            list(request.grant_types),
            list(request.redirect_uris),
            list(request.scopes),
        )
        await audit.record_by(call.session, call.principal, audit.CLIENT_CREATED, target_type="client",
                              target_id=row.client_id, details={"name": row.name, "scopes": list(row.scopes or [])})
        return pb.CreateClientResponse(client=client_pb(row), client_secret=secret or "")

    @rpc(Scope.CLIENTS_MANAGE)
    async def ListClients(self, request: pb.ListClientsRequest, call: Call) -> pb.ListClientsResponse:
        return pb.ListClientsResponse(
            items=[client_pb(r) for r in await self.oauth.list_clients(call.principal.tenant_id)]
        )

    async def AuthorizeUser(
        self, request: pb.AuthorizeUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthorizeUserResponse:
        outcome = await self.oauth.authorize_user(
            tenant_slug=request.tenant_slug,
            email=request.email,
            password=request.password,
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
        )
        return authorization_pb(outcome)

    async def ExchangeAuthorizationCode(
        self, request: pb.ExchangeAuthorizationCodeRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenResponse:
        return token_pb(
            await self.oauth.exchange_code(
                code=request.code,
                client_id=request.client_id,
                client_secret=request.client_secret,
                redirect_uri=request.redirect_uri,
                code_verifier=request.code_verifier,
            )
        )

    async def IssueClientToken(
        self, request: pb.IssueClientTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenResponse:
        return token_pb(
            await self.oauth.client_token(
                client_id=request.client_id,
                client_secret=request.client_secret,
                scope=request.scope,
            )
        )

    async def IssueServiceToken(
        self, request: pb.IssueServiceTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenResponse:
        if not credential_ok(self.service_key, request.service, request.credential):
            raise Unauthenticated("unknown service or wrong credential")
        try:
            tenant_id = uuid.UUID(request.tenant_id)
        except ValueError:
            raise InvalidInput([FieldError("tenant_id", "invalid_id", "a tenant id")]) from None
        tenant = await self.tenants.get(tenant_id)  # NotFound for an unknown tenant
        if tenant.status != "active":
            raise NotFound("tenant not found")
        token = self.keys.issue(subject=f"service:{request.service}", tenant_id=tenant_id,
                                client_id=f"crm-{request.service}", scopes=[Scope.SYSTEM_ACCESS.value],
                                ttl=SERVICE_TOKEN_TTL)
        return pb.TokenResponse(access_token=token, token_type="Bearer", expires_in=SERVICE_TOKEN_TTL,
                                scope=Scope.SYSTEM_ACCESS.value)

    @rpc(Scope.SYSTEM_ACCESS, read_only=True)
    async def GetUserAccess(self, request: pb.GetUserAccessRequest, call: Call) -> pb.UserAccess:
        row = await users.get_user(call.session, request.user_id)
        access = await roles.load_access(call.session, row)
        return pb.UserAccess(
            user_id=str(row.id), scopes=sorted(access.scopes), data_scope=access.data_scope,
            team_ids=list(access.team_ids), field_policies=dict(access.field_policies), disabled=bool(row.disabled),
            email=str(row.email or ""), locale=str(getattr(row, "locale", "") or ""),
            display_name=str(row.display_name or ""), team_id=str(row.team_id or ""), version=int(row.version))

    async def RefreshAccessToken(
        self, request: pb.RefreshAccessTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.TokenResponse:
        return token_pb(
            await self.oauth.refresh(
                refresh_token=request.refresh_token,
                client_id=request.client_id,
                client_secret=request.client_secret,
                scope=request.scope,
            )
        )

    async def RevokeToken(
        self, request: pb.RevokeTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeTokenResponse:
        await self.oauth.revoke(
            token=request.token,
            token_type_hint=request.token_type_hint,
            client_id=request.client_id,
            client_secret=request.client_secret,
        )
        return pb.RevokeTokenResponse()

    async def IntrospectToken(
        self, request: pb.IntrospectTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.IntrospectTokenResponse:
        answer = await self.oauth.introspect(
            token=request.token,
            token_type_hint=request.token_type_hint,
            client_id=request.client_id,
            client_secret=request.client_secret,
        )
        return pb.IntrospectTokenResponse(**answer) if answer else pb.IntrospectTokenResponse(active=False)

    async def ResolveConsent(
        self, request: pb.ResolveConsentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResolveConsentResponse:
        answer = await self.oauth.resolve_consent(ticket=request.consent_ticket, allow=request.allow)
        return pb.ResolveConsentResponse(
            code=answer.code, scope=answer.scope, redirect_uri=answer.redirect_uri, client_id=answer.client_id
        )

    @rpc(Scope.CLIENTS_MANAGE)
    async def GetApiClient(self, request: pb.GetApiClientRequest, call: Call) -> pb.OAuthClient:
        return client_pb(await self.oauth.get_tenant_client(call.principal.tenant_id, request.client_id))

    @rpc(Scope.CLIENTS_MANAGE)
    async def RotateClientSecret(self, request: pb.RotateClientSecretRequest, call: Call) -> pb.CreateClientResponse:
        row, secret = await self.oauth.rotate_secret(call.principal.tenant_id, request.client_id)
        await audit.record_by(call.session, call.principal, audit.CLIENT_SECRET_ROTATED, target_type="client",
                              target_id=row.client_id)
        return pb.CreateClientResponse(client=client_pb(row), client_secret=secret)

    @rpc(Scope.CLIENTS_MANAGE)
    async def RevokeClient(self, request: pb.RevokeClientRequest, call: Call) -> pb.OAuthClient:
        row = await self.oauth.revoke_client(call.principal.tenant_id, request.client_id)
        await audit.record_by(call.session, call.principal, audit.CLIENT_REVOKED, target_type="client",
                              target_id=row.client_id)
        return client_pb(row)

    # -- roles and teams (roles/, teams/; docs/access.md) ----------------------------------------
    @rpc()
    async def ListPermissions(self, request: pb.ListPermissionsRequest, call: Call) -> pb.ListPermissionsResponse:
        call.principal.require_any(Scope.USERS_MANAGE, Scope.ROLES_MANAGE)
        return pb.ListPermissionsResponse(
            items=[pb.Permission(scope=scope, description_en=en, description_zh=zh) for scope, en, zh in catalogue()]
        )

    @rpc()
    async def ListRoles(self, request: pb.ListRolesRequest, call: Call) -> pb.ListRolesResponse:
        call.principal.require_any(Scope.USERS_MANAGE, Scope.ROLES_MANAGE)
        return pb.ListRolesResponse(items=[role_pb(r) for r in await roles.list_roles(call.session)])

    @rpc()
    async def GetRole(self, request: pb.GetRoleRequest, call: Call) -> pb.Role:
        call.principal.require_any(Scope.USERS_MANAGE, Scope.ROLES_MANAGE)
        return role_pb(await roles.get_role(call.session, request.id))

    @rpc(Scope.ROLES_MANAGE)
    async def CreateRole(self, request: pb.CreateRoleRequest, call: Call) -> pb.Role:
        values: dict[str, Any] = {"name": request.name, "description": request.description,
                                  "scopes": list(request.scopes)}
        if request.data_scope:
            values["data_scope"] = request.data_scope
        view = await roles.create_role(call.session, call.principal, values)
        await _audit_role(call, audit.ROLE_CREATED, None, view)
        return role_pb(view)

    @rpc(Scope.ROLES_MANAGE)
    async def UpdateRole(self, request: pb.UpdateRoleRequest, call: Call) -> pb.Role:
        values = _masked(request, ("name", "description", "scopes", "data_scope"))
        before = await roles.get_role(call.session, request.id)
        view = await roles.update_role(call.session, call.principal, request.id, values, request.expected_version)
        await users.announce_access(call.session, call.principal.tenant_id, view.id)
        await _audit_role(call, audit.ROLE_UPDATED, before, view)
        return role_pb(view)

    @rpc(Scope.ROLES_MANAGE)
    async def DeleteRole(self, request: pb.DeleteRoleRequest, call: Call) -> pb.Role:
        view = await roles.delete_role(call.session, request.id)
        await users.announce_access(call.session, call.principal.tenant_id, view.id)
        await _audit_role(call, audit.ROLE_DELETED, view, None)
        return role_pb(view)

    @rpc(Scope.ROLES_MANAGE)
    async def SetRoleFieldPolicies(self, request: pb.SetRoleFieldPoliciesRequest, call: Call) -> pb.Role:
        before = await roles.get_role(call.session, request.id)
        view = await roles.set_field_policies(
            call.session, request.id, dict(request.field_policies), request.expected_version
        )
        await users.announce_access(call.session, call.principal.tenant_id, view.id)
        await _audit_role(call, audit.ROLE_FIELD_POLICIES_UPDATED, before, view)
        return role_pb(view)

    @rpc(Scope.USERS_MANAGE)
    async def GetUser(self, request: pb.GetUserRequest, call: Call) -> pb.User:
        return user_pb(await users.get_user(call.session, request.id))

    @rpc(Scope.USERS_MANAGE)
    async def UpdateUser(self, request: pb.UpdateUserRequest, call: Call) -> pb.User:
        values = _masked(request, ("display_name", "roles", "team_id"))
        if "disabled" in request.update_mask:
            values["disabled"] = request.disabled
        if "roles" in values:
            values["roles"] = await roles.check_assignable(call.session, call.principal, values["roles"])
        return user_pb(await users.update_user(
            call.session, request.id, values, request.expected_version, tenant_id=call.principal.tenant_id,
            actor=call.principal,
        ))

    @rpc(Scope.USERS_MANAGE)
    async def ListTeams(self, request: pb.ListTeamsRequest, call: Call) -> pb.ListTeamsResponse:
        counts = await teams.member_counts(call.session)
        return pb.ListTeamsResponse(
            items=[team_pb(r, counts.get(str(r.id), 0)) for r in await teams.list_teams(call.session)]
        )

    @rpc(Scope.USERS_MANAGE)
    async def GetTeam(self, request: pb.GetTeamRequest, call: Call) -> pb.Team:
        row = await teams.get_team(call.session, request.id)
        return team_pb(row, (await teams.member_counts(call.session)).get(str(row.id), 0))

    @rpc(Scope.USERS_MANAGE)
    async def CreateTeam(self, request: pb.CreateTeamRequest, call: Call) -> pb.Team:
        row = await teams.create_team(
            call.session, {"name": request.name, "parent_id": request.parent_id, "manager_id": request.manager_id}
        )
        await _audit_team(call, audit.TEAM_CREATED, None, row)
        return team_pb(row)

    @rpc(Scope.USERS_MANAGE)
    async def UpdateTeam(self, request: pb.UpdateTeamRequest, call: Call) -> pb.Team:
        values = _masked(request, ("name", "parent_id", "manager_id"))
        before = await teams.get_team(call.session, request.id)
        row = await teams.update_team(call.session, request.id, values, request.expected_version)
        if "parent_id" in values:  # visible teams (data scope team) follow the tree
            await users.announce_access(call.session, call.principal.tenant_id)
        elif row.manager_id != before.manager_id:  # members' events name their team's manager
            await users.announce_team(call.session, call.principal.tenant_id, row.id)
        await _audit_team(call, audit.TEAM_UPDATED, before, row)
        return team_pb(row, (await teams.member_counts(call.session)).get(str(row.id), 0))

    @rpc(Scope.USERS_MANAGE)
    async def DeleteTeam(self, request: pb.DeleteTeamRequest, call: Call) -> pb.Team:
        row = await teams.delete_team(call.session, request.id)
        await users.announce_access(call.session, call.principal.tenant_id)
        await _audit_team(call, audit.TEAM_DELETED, row, None)
        return team_pb(row)

    # -- user security (users/login.py, users/account.py, tenants/password_policy.py) ----------
    async def ContinueLogin(
        self, request: pb.ContinueLoginRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthorizeUserResponse:
        return authorization_pb(
            await self.oauth.continue_login(
                ticket=request.login_ticket, step=request.step, client_id=request.client_id,
                redirect_uri=request.redirect_uri, new_password=request.new_password, code=request.code,
            )
        )

    @rpc(Scope.USERS_MANAGE)
    async def GetPasswordPolicy(self, request: pb.GetPasswordPolicyRequest, call: Call) -> pb.PasswordPolicy:
        return policy_pb(*await password_policy.get_policy(call.session))

    @rpc(Scope.USERS_MANAGE)
    async def UpdatePasswordPolicy(self, request: pb.UpdatePasswordPolicyRequest, call: Call) -> pb.PasswordPolicy:
        changes = {name: getattr(request.policy, name, None) for name in request.update_mask}
        return policy_pb(*await password_policy.update_policy(call.session, changes, request.expected_version))

    @rpc()
    async def GetMySecurity(self, request: pb.GetMySecurityRequest, call: Call) -> pb.MySecurity:
        return security_pb(await self.account.state(call.session, call.principal))

    @rpc()
    async def GetMyPreferences(self, request: pb.GetMyPreferencesRequest, call: Call) -> pb.MyPreferences:
        return preferences_pb(await preferences.get(call.session, call.principal))

    @rpc()
    async def UpdateMyPreferences(self, request: pb.UpdateMyPreferencesRequest, call: Call) -> pb.MyPreferences:
        return preferences_pb(await preferences.update(
            call.session, call.principal,
            locale=request.locale if request.HasField("locale") else None,
            time_zone=request.time_zone if request.HasField("time_zone") else None,
        ))

    @rpc()
    async def ChangeMyPassword(self, request: pb.ChangeMyPasswordRequest, call: Call) -> pb.MySecurity:
        return security_pb(
            await self.account.change_my_password(
                call.session, call.principal, request.current_password, request.new_password
            )
        )

    @rpc()
    async def StartTotpEnrollment(self, request: pb.StartTotpEnrollmentRequest, call: Call) -> pb.TotpEnrollment:
        secret, uri = await self.account.start_totp(call.session, call.principal)
        return pb.TotpEnrollment(secret=secret, uri=uri)

    @rpc()
    async def ConfirmTotpEnrollment(self, request: pb.ConfirmTotpEnrollmentRequest, call: Call) -> pb.RecoveryCodes:
        return pb.RecoveryCodes(codes=await self.account.confirm_totp(call.session, call.principal, request.code))

    @rpc(Scope.USERS_MANAGE)
    async def ResetUserPassword(self, request: pb.ResetUserPasswordRequest, call: Call) -> pb.User:
        return user_pb(
            await self.account.reset_password(call.session, call.principal, request.user_id, request.new_password)
        )

    async def SetTenantStatus(self, request: pb.SetTenantStatusRequest, context: grpc.aio.ServicerContext) -> pb.Tenant:
        # An operator token (system:tenants) whose tenant is the target; no tenant session needed.
        caller = principal()
        caller.require(Scope.SYSTEM_TENANTS)
        return tenant_pb(await self.tenants.set_status(caller.tenant_id, request.status, request.reason, actor=caller))

    # -- audit log (audit/log.py; docs/identity.md#audit-log) ------------------------------------
    @rpc(Scope.AUDIT_READ)
    async def ListAuditEvents(self, request: pb.ListAuditEventsRequest, call: Call) -> pb.ListAuditEventsResponse:
        size = page_size(request.page_size)
        after = None
        if request.page_token:
            cursor = self.page_tokens.decode(request.page_token)
            try:
                after = (datetime.fromisoformat(cursor["t"]), uuid.UUID(cursor["id"]))
            except (KeyError, TypeError, ValueError):
                raise InvalidInput([FieldError("page_token", "invalid_page_token", "page_token is invalid")]) from None
        where = audit_filter(request)
        if request.record_export:
            await audit.record_by(call.session, call.principal, audit.AUDIT_EXPORTED, target_type="audit_log",
                                  details=where.as_details())
        rows = await audit.search(call.session, where, size + 1, after)
        next_token = ""
        if len(rows) > size:
            last = rows[size - 1]
            next_token = self.page_tokens.encode({"t": last.occurred_at.isoformat(), "id": str(last.id)})
        return pb.ListAuditEventsResponse(items=[audit_pb(r) for r in rows[:size]], next_page_token=next_token)


def _user_details(row: sa.Row[Any]) -> dict[str, Any]:
    return {"email": row.email, "roles": list(row.roles), "team_id": str(row.team_id or "")}


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """{field: {"old", "new"}} for the fields that differ (a creation or deletion lists every field)."""
    old, new = before or {}, after or {}
    return {k: {"old": old.get(k), "new": new.get(k)} for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def _role_fields(view: RoleView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"name": view.name, "description": view.description, "scopes": sorted(view.scopes),
            "data_scope": view.data_scope, "field_policies": dict(sorted(view.field_policies.items()))}


async def _audit_role(call: Call, action: str, before: RoleView | None, after: RoleView | None) -> None:
    view = after or before
    assert view is not None
    await audit.record_by(call.session, call.principal, action, target_type="role", target_id=view.id,
                          details={"name": view.name, "changes": _changes(_role_fields(before), _role_fields(after))})


def _team_fields(row: sa.Row[Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"name": row.name, "parent_id": str(row.parent_id or ""), "manager_id": str(row.manager_id or "")}


async def _audit_team(call: Call, action: str, before: sa.Row[Any] | None, after: sa.Row[Any] | None) -> None:
    row = after if after is not None else before
    assert row is not None
    await audit.record_by(call.session, call.principal, action, target_type="team", target_id=str(row.id),
                          details={"name": row.name, "changes": _changes(_team_fields(before), _team_fields(after))})


def _when(request: Any, name: str) -> datetime | None:
    return getattr(request, name).ToDatetime(tzinfo=UTC) if request.HasField(name) else None


def audit_filter(request: pb.ListAuditEventsRequest) -> audit.AuditFilter:
    where = audit.AuditFilter(
        actor=request.actor, action_prefix=request.action_prefix, target_id=request.target_id,
        occurred_after=_when(request, "occurred_after"), occurred_before=_when(request, "occurred_before"),
    )
    if where.occurred_after and where.occurred_before and where.occurred_after >= where.occurred_before:
        raise InvalidInput([FieldError("occurred_before", "invalid_range",
                                       "occurred_before must be later than occurred_after")])
    return where


def audit_pb(row: sa.Row[Any]) -> pb.AuditEvent:
    return pb.AuditEvent(
        id=str(row.id), occurred_at=_ts(row.occurred_at), actor=row.actor, actor_kind=row.actor_kind,
        action=row.action, target_type=row.target_type, target_id=row.target_id, ip=row.ip,
        user_agent=row.user_agent, details_json=json.dumps(row.details, ensure_ascii=False, sort_keys=True),
    )


__all__ = ["PUBLIC_METHODS", "IdentityServicer", "uuid"]
