"""/app/users, /app/teams, /app/roles: tenant admins manage users (create with roles and team,
change roles/team), the team tree with managers, and custom roles (permission checkboxes, data
scope, field-policy grid). Pages call identity with the session's token, so identity enforces
users:manage / roles:manage exactly as for the REST API (docs/access.md)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, Final

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.clients import Caller
from crm_gateway.i18n import N_, Locale, Msg, messages
from crm_gateway.problem_texts import PROBLEM_DETAILS
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError, catalogue_text, localise_field_errors
from crm_gateway.web.auth import LoginRequired, session_caller
from crm_gateway.web.common import SessionDep, flash_message, flash_text, problem_text, user_label
from crm_gateway.web.errors import error_page
from crm_gateway.web.labels import label
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.templating import page_locale, render
from crm_proto.crm.identity.v1 import account_security_pb2 as security_pb
from crm_proto.crm.identity.v1 import identity_pb2 as pb
from crm_proto.crm.identity.v1 import user_admin_pb2 as user_admin_pb

router = APIRouter(prefix="/app", include_in_schema=False)
DATA_SCOPES: Final = ("own", "team", "all")
POLICIES: Final = ("hidden", "masked", "read_only", "read_write")
# Customer fields offered in the field-policy grid (custom fields are `cf.<key>`; policies already
# stored for other fields are shown too).
GRID_FIELDS: Final = (
    "name", "mobile", "phone", "email", "contact_person", "annual_revenue", "annual_spend", "lifetime_value",
    "credit_code", "resident_id", "bank_card", "needs", "notes",
)


def _csrf_ok(form: Any, session: WebSession) -> bool:
    return hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode())


def _message(exc: UpstreamError, locale: Locale) -> str:
    if exc.error.errors:
        return problem_text(exc, locale)
    localized = catalogue_text(PROBLEM_DETAILS, exc.error.code, locale) if exc.error.code else None
    return localized or problem_text(exc, locale)


def _status(exc: UpstreamError) -> int:
    if exc.error.status == grpc.StatusCode.INVALID_ARGUMENT:
        return 400
    return GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0]


def _role_label(role_id: str, names: dict[str, str], locale: Locale) -> str:
    builtin = label("role", role_id, locale)
    return builtin if builtin != role_id else names.get(role_id) or role_id


def _done(path: str, request: Request, done: Msg, **params: str) -> Response:
    response = RedirectResponse(path, status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(done, **params))
    return response


async def _page(
    request: Request, session: WebSession, template: str, path: str, load: Any, *, status_code: int = 200,
    error: str | None = None, field_errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
) -> Response:
    caller = session_caller(request, session)
    locale = caller.locale
    context: dict[str, Any] = {}
    try:
        context = await load(caller)
    except UpstreamError as exc:
        if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
            raise LoginRequired(path) from exc
        if exc.error.status == grpc.StatusCode.PERMISSION_DENIED:
            return error_page(request, 403, "permission_denied", None)  # nothing of the page is theirs
        error = error or _message(exc, locale)
        status_code = max(status_code, _status(exc))
    cookies: WebCookies = request.app.state.web_cookies
    flash = cookies.read_flash(request)
    banner = flash_text(flash, locale)
    response = render(request, template, {
        "session": session, "user_label": user_label(session, locale), "banner": banner, "error": error,
        "field_errors": field_errors or {}, "values": values or {}, "active": path, **context,
    }, status_code=status_code)
    cookies.clear_flash(request, response)
    return response


async def _call(request: Request, session: WebSession, method: Any, message: Any) -> Any:
    try:
        return await session_caller(request, session).call(method, message)
    except UpstreamError as exc:
        if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
            raise LoginRequired(request.url.path) from exc
        raise


def _field_errors(exc: UpstreamError, locale: Locale) -> dict[str, str]:
    return {e["field"]: e["message"] for e in localise_field_errors(exc.error.errors, locale)}


# -- users -------------------------------------------------------------------------------------------


def _users_loader(services: Any, locale: Locale) -> Any:
    async def load(caller: Caller) -> dict[str, Any]:
        users = await caller.call(services.identity.ListUsers, pb.ListUsersRequest(page_size=500))
        roles = await caller.call(services.identity.ListRoles, pb.ListRolesRequest())
        teams = await caller.call(services.identity.ListTeams, pb.ListTeamsRequest())
        names = {r.id: r.name for r in roles.items}
        team_names = {t.id: t.name for t in teams.items}
        # Pending invitations (web/user_admin.py): listed under the users, their users marked "invited".
        invitations = await caller.call(services.user_admin.ListInvitations,
                                        user_admin_pb.ListInvitationsRequest(state="pending", page_size=200))
        invited = {i.user_id for i in invitations.items}
        return {
            "users": [{"id": u.id, "email": u.email, "name": u.display_name, "roles": list(u.roles),
                       "role_labels": [_role_label(r, names, locale) for r in u.roles],
                       "team_id": u.team_id, "team": team_names.get(u.team_id, ""), "version": u.version,
                       "invited": u.id in invited, "disabled": u.disabled}
                      for u in users.items],
            "invitations": [{"id": i.id, "email": i.email, "name": i.display_name,
                             "expired": i.state == user_admin_pb.INVITATION_STATE_EXPIRED,
                             "expires": timestamp(i.expires_at), "send_count": i.send_count,
                             "role_labels": [_role_label(r, names, locale) for r in i.roles]}
                            for i in invitations.items],
            "roles": [{"id": r.id, "label": _role_label(r.id, names, locale), "builtin": r.builtin}
                      for r in roles.items],
            "teams": sorted(({"id": t.id, "name": t.name} for t in teams.items), key=lambda t: t["name"]),
        }

    return load


@router.get("/users")
async def users_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _page(request, session, "users.html", "/app/users", _users_loader(services, page_locale(request)))


@router.post("/users")
async def create_user(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    values: dict[str, Any] = {
        "email": str(raw.get("email") or "").strip(), "display_name": str(raw.get("display_name") or ""),
        "roles": [str(r) for r in raw.getlist("roles")], "team_id": str(raw.get("team_id") or ""),
    }
    load = _users_loader(services, locale)
    if not _csrf_ok(raw, session):
        return await _page(request, session, "users.html", "/app/users", load, status_code=403, values=values,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        await _call(request, session, services.identity.CreateUser, pb.CreateUserRequest(
            email=values["email"], password=str(raw.get("password") or ""), display_name=values["display_name"],
            roles=values["roles"], team_id=values["team_id"]))
    except UpstreamError as exc:
        return await _page(request, session, "users.html", "/app/users", load, status_code=_status(exc),
                           values=values, field_errors=_field_errors(exc, locale), error=_message(exc, locale))
    return _done("/app/users", request, N_("User %(email)s created; they choose their own password at first sign-in."),
                 email=values["email"])


@router.post("/users/{user_id}")
async def update_user(request: Request, user_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _update_user(request, user_id, session, services, lambda raw: {
        "update_mask": ["roles", "team_id"], "roles": [str(r) for r in raw.getlist("roles")],
        "team_id": str(raw.get("team_id") or ""),
    }, N_("Saved %(email)s. New roles apply from their next sign-in or token refresh."))


@router.post("/users/{user_id}/disable")
async def disable_user(request: Request, user_id: str, session: SessionDep, services: BackendsDep) -> Response:
    """The user cannot sign in and every session ends; identity refuses it for the last active
    tenant admin (409 `last_tenant_admin`) and audits it."""
    return await _update_user(request, user_id, session, services,
                              lambda raw: {"update_mask": ["disabled"], "disabled": True},
                              N_("%(email)s is disabled: they cannot sign in and their sessions have ended."))


@router.post("/users/{user_id}/enable")
async def enable_user(request: Request, user_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _update_user(request, user_id, session, services,
                              lambda raw: {"update_mask": ["disabled"],
                                           "disabled": False}, N_("%(email)s can sign in again."))


async def _update_user(
    request: Request, user_id: str, session: WebSession, services: Any,
    changes: Callable[[Any], dict[str, Any]], done: Msg,
) -> Response:
    """A users-page form posting one change of a user (`changes` from the form) with the row's
    version: CSRF check, `UpdateUser` with If-Match semantics, the page again with the error."""
    raw = await request.form()
    locale = page_locale(request)
    load = _users_loader(services, locale)
    if not _csrf_ok(raw, session):
        return await _page(request, session, "users.html", "/app/users", load, status_code=403,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        version = int(str(raw.get("version") or "0"))
    except ValueError:
        version = 0
    try:
        reply = await _call(request, session, services.identity.UpdateUser, pb.UpdateUserRequest(
            id=user_id, expected_version=version, **changes(raw)))
    except UpstreamError as exc:
        return await _page(request, session, "users.html", "/app/users", load, status_code=_status(exc),
                           error=_message(exc, locale))
    return _done("/app/users", request, done, email=reply.email)


@router.post("/users/{user_id}/sign-out")
async def sign_out_everywhere(request: Request, user_id: str, session: SessionDep, services: BackendsDep) -> Response:
    """"Sign out everywhere" (e.g. a lost laptop): every session of the user ends (identity audits it)."""
    raw = await request.form()
    locale = page_locale(request)
    load = _users_loader(services, locale)
    if not _csrf_ok(raw, session):
        return await _page(request, session, "users.html", "/app/users", load, status_code=403,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        reply = await _call(request, session, services.account_security.RevokeUserSessions,
                            security_pb.RevokeUserSessionsRequest(user_id=user_id))
    except UpstreamError as exc:
        return await _page(request, session, "users.html", "/app/users", load, status_code=_status(exc),
                           error=_message(exc, locale))
    email = str(raw.get("email") or "")
    return _done("/app/users", request, N_("%(email)s was signed out on every device (%(n)s)."), email=email,
                 n=str(reply.revoked))


# -- teams -------------------------------------------------------------------------------------------


def _teams_loader(services: Any) -> Any:
    async def load(caller: Caller) -> dict[str, Any]:
        teams = await caller.call(services.identity.ListTeams, pb.ListTeamsRequest())
        users = await caller.call(services.identity.ListUsers, pb.ListUsersRequest(page_size=500))
        user_names = {u.id: u.display_name for u in users.items}
        rows = [{"id": t.id, "name": t.name, "parent_id": t.parent_id, "manager": user_names.get(t.manager_id, ""),
                 "members": t.member_count} for t in teams.items]
        children: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            children.setdefault(row["parent_id"], []).append(row)
        tree: list[dict[str, Any]] = []

        def walk(parent: str, depth: int) -> None:
            for row in sorted(children.get(parent, []), key=lambda r: r["name"]):
                if any(t["id"] == row["id"] for t in tree):
                    continue
                tree.append({**row, "depth": depth})
                walk(row["id"], depth + 1)

        walk("", 0)
        return {"tree": tree, "users": [{"id": u.id, "name": u.display_name} for u in users.items]}

    return load


@router.get("/teams")
async def teams_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _page(request, session, "teams.html", "/app/teams", _teams_loader(services))


@router.post("/teams")
async def create_team(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    values = {k: str(raw.get(k) or "") for k in ("name", "parent_id", "manager_id")}
    if not _csrf_ok(raw, session):
        return await _page(request, session, "teams.html", "/app/teams", _teams_loader(services), status_code=403,
                           values=values, error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        await _call(request, session, services.identity.CreateTeam, pb.CreateTeamRequest(**values))
    except UpstreamError as exc:
        return await _page(request, session, "teams.html", "/app/teams", _teams_loader(services),
                           status_code=_status(exc), values=values, field_errors=_field_errors(exc, locale),
                           error=_message(exc, locale))
    return _done("/app/teams", request, N_("Team %(name)s created."), name=values["name"].strip())


@router.post("/teams/{team_id}/delete")
async def delete_team(request: Request, team_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    if not _csrf_ok(raw, session):
        return await _page(request, session, "teams.html", "/app/teams", _teams_loader(services), status_code=403,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        reply = await _call(request, session, services.identity.DeleteTeam, pb.DeleteTeamRequest(id=team_id))
    except UpstreamError as exc:
        return await _page(request, session, "teams.html", "/app/teams", _teams_loader(services),
                           status_code=_status(exc), error=_message(exc, locale))
    return _done("/app/teams", request, N_("Team %(name)s deleted."), name=reply.name)


# -- roles -------------------------------------------------------------------------------------------


def _roles_loader(services: Any, locale: Locale, role_id: str | None = None) -> Any:
    async def load(caller: Caller) -> dict[str, Any]:
        roles = await caller.call(services.identity.ListRoles, pb.ListRolesRequest())
        permissions = await caller.call(services.identity.ListPermissions, pb.ListPermissionsRequest())
        names = {r.id: r.name for r in roles.items}
        zh = locale == "zh-CN"
        context: dict[str, Any] = {
            "roles": [{"id": r.id, "label": _role_label(r.id, names, locale), "builtin": r.builtin,
                       "description": r.description, "data_scope": r.data_scope, "scopes": list(r.scopes),
                       "restricted": len(r.field_policies)} for r in roles.items],
            "permissions": [{"scope": p.scope, "text": p.description_zh if zh else p.description_en}
                            for p in permissions.items],
            "data_scopes": DATA_SCOPES, "policies": POLICIES,
        }
        if role_id is not None:
            role = await caller.call(services.identity.GetRole, pb.GetRoleRequest(id=role_id))
            fields = list(GRID_FIELDS) + sorted(set(role.field_policies) - set(GRID_FIELDS))
            context["role"] = {
                "id": role.id, "name": role.name, "label": _role_label(role.id, names, locale),
                "description": role.description, "builtin": role.builtin, "scopes": list(role.scopes),
                "data_scope": role.data_scope, "version": role.version,
                "grid": [{"field": f, "policy": role.field_policies.get(f, "read_write")} for f in fields],
            }
        return context

    return load


@router.get("/roles")
async def roles_page(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    return await _page(request, session, "roles.html", "/app/roles", _roles_loader(services, page_locale(request)))


@router.post("/roles")
async def create_role(request: Request, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    values: dict[str, Any] = {
        "name": str(raw.get("name") or ""), "description": str(raw.get("description") or ""),
        "scopes": [str(s) for s in raw.getlist("scopes")], "data_scope": str(raw.get("data_scope") or "own"),
    }
    load = _roles_loader(services, locale)
    if not _csrf_ok(raw, session):
        return await _page(request, session, "roles.html", "/app/roles", load, status_code=403, values=values,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        reply = await _call(request, session, services.identity.CreateRole, pb.CreateRoleRequest(**values))
    except UpstreamError as exc:
        return await _page(request, session, "roles.html", "/app/roles", load, status_code=_status(exc),
                           values=values, field_errors=_field_errors(exc, locale), error=_message(exc, locale))
    return _done(f"/app/roles/{reply.id}", request, N_("Role %(name)s created. Set its field policies below."),
                 name=reply.name)


@router.get("/roles/{role_id}")
async def role_page(request: Request, role_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _page(request, session, "role_edit.html", f"/app/roles/{role_id}",
                       _roles_loader(services, page_locale(request), role_id))


@router.post("/roles/{role_id}")
async def update_role(request: Request, role_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    load = _roles_loader(services, locale, role_id)
    path = f"/app/roles/{role_id}"
    if not _csrf_ok(raw, session):
        return await _page(request, session, "role_edit.html", path, load, status_code=403,
                           error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        version = int(str(raw.get("version") or "0"))
    except ValueError:
        version = 0
    policies = {str(k)[3:]: str(v) for k, v in raw.items() if str(k).startswith("fp.") and str(v) != "read_write"}
    try:
        role = await _call(request, session, services.identity.UpdateRole, pb.UpdateRoleRequest(
            id=role_id, update_mask=["name", "description", "scopes", "data_scope"],
            name=str(raw.get("name") or ""), description=str(raw.get("description") or ""),
            scopes=[str(s) for s in raw.getlist("scopes")], data_scope=str(raw.get("data_scope") or "own"),
            expected_version=version))
        await _call(request, session, services.identity.SetRoleFieldPolicies, pb.SetRoleFieldPoliciesRequest(
            id=role_id, field_policies=policies, expected_version=role.version))
    except UpstreamError as exc:
        return await _page(request, session, "role_edit.html", path, load, status_code=_status(exc),
                           field_errors=_field_errors(exc, locale), error=_message(exc, locale))
    return _done(path, request, N_("Role %(name)s saved."), name=role.name)


@router.post("/roles/{role_id}/delete")
async def delete_role(request: Request, role_id: str, session: SessionDep, services: BackendsDep) -> Response:
    raw = await request.form()
    locale = page_locale(request)
    path = f"/app/roles/{role_id}"
    if not _csrf_ok(raw, session):
        return await _page(request, session, "role_edit.html", path, _roles_loader(services, locale, role_id),
                           status_code=403, error=messages(locale).gettext("The form expired; please submit it again."))
    try:
        reply = await _call(request, session, services.identity.DeleteRole, pb.DeleteRoleRequest(id=role_id))
    except UpstreamError as exc:
        return await _page(request, session, "role_edit.html", path, _roles_loader(services, locale, role_id),
                           status_code=_status(exc), error=_message(exc, locale))
    return _done("/app/roles", request, N_("Role %(name)s deleted."), name=reply.name)
