"""The bearer-token dependency (resource server side).

The gateway verifies the access token (signature against identity's JWKS, issuer, audience,
expiry) so bad tokens stop at the door with a 401, and checks the scopes each route declares with
`Security(authenticate, scopes=...)` (also shown in OpenAPI) before the body is read, so a caller
without them gets 403 rather than validation errors. The services check the scopes again from the
same token (zero trust), with any finer rule of their own.
"""

from __future__ import annotations

from typing import Final

from fastapi import Depends, Request
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2, SecurityScopes
from starlette.requests import HTTPConnection

from crm_gateway.clients import Caller, request_origin
from crm_gateway.i18n import negotiate
from crm_gateway.problems import BEARER_CHALLENGE, INVALID_TOKEN_CHALLENGE, Problem
from crm_platform.auth import TENANT_SCOPES, Scope, TokenVerifier
from crm_platform.errors import Unauthenticated

SCOPE_DESCRIPTIONS: Final[dict[str, str]] = {
    Scope.CUSTOMERS_READ: "Read customers",
    Scope.CUSTOMERS_WRITE: "Create and change customers",
    Scope.CUSTOMERS_ADMIN: "Customer settings, dictionaries, custom fields and deleted customers",
    Scope.CUSTOMERS_REVEAL: "Reveal customers' sensitive fields (resident ID, bank card); audited",
    Scope.CUSTOMERS_DELETE: "Permanently erase customers in every service (cannot be undone)",
    Scope.CUSTOMERS_EXPORT: "Export customers (CSV, XLSX) with your data scope and field policies; audited",
    Scope.TAGS_READ: "Read tags, tag rules and customers' tags",
    Scope.TAGS_MANAGE: "Create tags and tag rules",
    Scope.FOLLOWUPS_READ: "Read follow-up tasks and cadence rules",
    Scope.FOLLOWUPS_WRITE: "Create and complete follow-up tasks of customers in the caller's data scope",
    Scope.FOLLOWUPS_MANAGE: "Create cadence rules (tags that schedule follow-up tasks)",
    Scope.REPORTS_READ: "Read reports",
    Scope.REPORTS_MANAGE: "Publish the tenant's default dashboard and set customer value rules",
    Scope.WEBHOOKS_MANAGE: "Manage webhook endpoints and read deliveries",
    Scope.USERS_MANAGE: "Manage the tenant's users",
    Scope.CLIENTS_MANAGE: "Manage the tenant's API clients",
    Scope.ROLES_MANAGE: "Manage custom roles, data scopes and field policies",
    Scope.AUDIT_READ: "Search and export the audit log",
    Scope.ORDERS_READ: "Read orders and contracts of customers in the caller's data scope",
    Scope.ORDERS_WRITE: "Record orders and contracts from outside systems",
    Scope.TENANT_BACKUP: "Take and download backups of all of the tenant's data; audited",
}
assert set(SCOPE_DESCRIPTIONS) == set(TENANT_SCOPES), "every tenant scope needs a description"


class BearerToken(OAuth2):
    """Reads `Authorization: Bearer <token>`; documents both OAuth flows in OpenAPI."""

    def __init__(self) -> None:
        super().__init__(
            flows=OAuthFlows(
                authorizationCode=OAuthFlowAuthorizationCode(
                    authorizationUrl="/oauth/authorize", tokenUrl="/oauth/token", scopes=SCOPE_DESCRIPTIONS
                ),
                clientCredentials=OAuthFlowClientCredentials(tokenUrl="/oauth/token", scopes=SCOPE_DESCRIPTIONS),
            ),
            scheme_name="oauth2",
            description="RFC 9068 JWT access tokens issued by /oauth/token.",
            auto_error=False,
        )

    async def __call__(self, request: HTTPConnection) -> str | None:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        token = credentials.strip()
        return token if scheme.lower() == "bearer" and token else None


bearer_token = BearerToken()


async def anonymous(request: Request) -> Caller:
    """For public operations: no token, but the caller's language and the deadline still apply.
    (Dependencies are `async def` so FastAPI runs them on the loop, not in a thread per request.)"""
    return Caller(negotiate(request.headers.get("accept-language")), deadline=request.app.state.rpc_deadline,
                  origin=request_origin(request))


async def verify_token(request: Request, token: str) -> Caller:
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify(token)
    except Unauthenticated as exc:
        raise Problem(401, "invalid_token", headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE}) from exc
    return Caller(
        negotiate(request.headers.get("accept-language")),
        token=token,
        principal=principal,
        deadline=request.app.state.rpc_deadline,
        origin=request_origin(request),
    )


async def authenticate(
    request: Request, security_scopes: SecurityScopes, token: str | None = Depends(bearer_token)
) -> Caller:
    """The verified caller holding every scope the route declares (403 `permission_denied` with
    `missing_scopes` otherwise). Checked here, before the body is read, so a caller without the
    scope learns nothing from validation errors; the service checks the scopes again (zero trust)."""
    caller = await _verified(request, token)
    missing = [s for s in security_scopes.scopes if s not in _scopes(caller)]
    if missing:
        raise Problem(403, "permission_denied", extra={"missing_scopes": missing})
    return caller


async def authenticate_any(
    request: Request, security_scopes: SecurityScopes, token: str | None = Depends(bearer_token)
) -> Caller:
    """Like `authenticate`, for routes where any one of the declared scopes suffices (reading
    roles: `roles:manage` or `users:manage`)."""
    caller = await _verified(request, token)
    wanted = list(security_scopes.scopes)
    if wanted and not set(wanted) & _scopes(caller):
        raise Problem(403, "permission_denied", extra={"missing_scopes": wanted})
    return caller


def _scopes(caller: Caller) -> frozenset[str]:
    return caller.principal.scopes if caller.principal is not None else frozenset()


async def _verified(request: Request, token: str | None) -> Caller:
    """The verified caller; verified once per request however many dependencies ask."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    if token is None:
        # RFC 6750 §3.1: a request without credentials gets the challenge but no error code.
        raise Problem(401, "unauthenticated", headers={"WWW-Authenticate": BEARER_CHALLENGE})
    caller = await verify_token(request, token)
    request.state.caller = caller
    return caller


async def caller_if_valid(request: Request) -> Caller | None:
    """The verified caller when the request carries a valid bearer token, else None (the route
    answers 401 itself, or runs anonymously). Caches it for `authenticate` like a route does."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    token = await bearer_token(request)
    if token is None:
        return None
    try:
        caller = await verify_token(request, token)
    except Problem:
        return None
    request.state.caller = caller
    return caller


async def current_caller(request: Request) -> Caller:
    """What handlers take: the caller the route's `Security(authenticate, ...)` verified.
    (A plain dependency, so OpenAPI shows the route's scoped requirement only once.)"""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    return await _verified(request, await bearer_token(request))
