"""Access tokens (RFC 9068 JWTs signed by identity) and the principal derived from them.

Every service verifies the caller's token itself against identity's JWKS (zero trust: nothing a
caller merely asserts in a header is believed). The JWKS is cached and refreshed when a token
names an unknown key id, so identity can rotate keys without restarts.

A token's signature is checked once per process: the verified claims are kept (a bounded LRU keyed
by the token string) and every later use re-checks what can change with time: the claims' expiry
and not-before against the clock, and that the signing key is still published. The answer is the
same as a full verification; the signature check (ES256, the costly part) is not repeated, nor are
the checks of claims that cannot change (issuer, audience, subject...): a kept token compares its
`exp`, `nbf` and `iat` with the clock as the claims registry does, and finds its key among the
published key ids without a coroutine while the key set is fresh.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from crm_platform.errors import PermissionDenied, Unauthenticated

ACCESS_TOKEN_TYPE = "at+jwt"
SIGNING_ALGORITHM = "ES256"


class Scope(StrEnum):
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    # Customer settings, dictionaries, custom field definitions, soft-deleted records.
    CUSTOMERS_ADMIN = "customers:admin"
    # Plaintext of sensitive customer fields (resident ID, bank card); every use is audited.
    CUSTOMERS_REVEAL = "customers:reveal"
    # Export customers (CSV/XLSX) with the caller's data scope and field policies; every export is audited.
    CUSTOMERS_EXPORT = "customers:export"
    # Permanent erasure of a customer in every service (right to be forgotten); never implied.
    CUSTOMERS_DELETE = "customers:delete"
    TAGS_READ = "tags:read"
    TAGS_MANAGE = "tags:manage"
    FOLLOWUPS_READ = "followups:read"
    FOLLOWUPS_WRITE = "followups:write"
    # Cadence rules (which tags schedule follow-ups for everyone): managers and admins.
    FOLLOWUPS_MANAGE = "followups:manage"
    REPORTS_READ = "reports:read"
    # Publish the tenant's default dashboard and set the customer-value segment rules (issue 11).
    REPORTS_MANAGE = "reports:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    USERS_MANAGE = "users:manage"
    CLIENTS_MANAGE = "clients:manage"
    # Custom roles, their data scope and field policies (issue 3).
    ROLES_MANAGE = "roles:manage"
    # Search and export the tenant's append-only audit log (issue 3).
    AUDIT_READ = "audit:read"
    # Orders and contracts recorded from outside systems (issue 4); amounts follow the spend field policy.
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    # Take and download a backup of all of the tenant's data (issue 10); tenant admins only.
    TENANT_BACKUP = "tenant:backup"
    # Held only by service tokens identity mints for itself.
    SYSTEM_PROVISION = "system:provision"
    # Held only by operator tokens (`crm tenant ...`): suspend, resume, export and erase a tenant.
    SYSTEM_TENANTS = "system:tenants"
    # Held only by service tokens (crm_platform/service_tokens.py): read a user's effective access.
    SYSTEM_ACCESS = "system:access"


# Data scopes (claim `ds`), narrowest first: a user's own records, their team's (with sub-teams), all.
DATA_SCOPES: Final[tuple[str, ...]] = ("own", "team", "all")
# Field policies (claim `fp`), most restrictive first; a field absent from the claim is read_write.
FIELD_POLICIES: Final[tuple[str, ...]] = ("hidden", "masked", "read_only", "read_write")

# Scopes a tenant's users and API clients may be granted (system scopes are not among them).
TENANT_SCOPES: tuple[Scope, ...] = tuple(s for s in Scope if not s.value.startswith("system:"))


@dataclass(frozen=True)
class Principal:
    """Who is calling, derived only from a verified token."""

    tenant_id: uuid.UUID
    subject: str
    client_id: str
    scopes: frozenset[str]
    roles: tuple[str, ...] = ()
    user_id: uuid.UUID | None = None
    token: str = field(default="", repr=False)
    # Row-level access (claims `ds`, `teams`): "own" | "team" | "all", and the teams visible with "team".
    data_scope: str = "all"
    team_ids: tuple[str, ...] = ()
    # Per customer field: hidden | masked | read_only (claim `fp`); absent fields are read_write.
    field_policies: Mapping[str, str] = field(default_factory=dict)
    # The sign-in session (refresh-token family) a user token came from (claim `sid`), "" if none.
    session_id: str = ""

    def require(self, *scopes: Scope) -> None:
        missing = [s.value for s in scopes if s.value not in self.scopes]
        if missing:
            raise PermissionDenied(f"token lacks scope {' '.join(missing)}", extra={"missing_scopes": missing})

    @property
    def is_system(self) -> bool:
        """A service or operator token: it acts on a tenant, not as the tenant, so a suspended
        tenant's own tokens stop working while these keep working (to resume, export, erase)."""
        return any(s.startswith("system:") for s in self.scopes)

    def require_any(self, *scopes: Scope) -> None:
        """At least one of the scopes (e.g. reading roles: users:manage or roles:manage)."""
        if not any(s.value in self.scopes for s in scopes):
            wanted = [s.value for s in scopes]
            raise PermissionDenied(f"token lacks one of the scopes {' '.join(wanted)}",
                                   extra={"missing_scopes": wanted})

    @property
    def actor(self) -> str:
        """The id written to created_by / updated_by."""
        return str(self.user_id) if self.user_id else f"client:{self.client_id}"


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def principal_json(principal: Principal) -> dict[str, Any]:
    """What a job needs to act as the caller (never the token itself): stored with the job's row."""
    return {
        "tenant_id": str(principal.tenant_id), "subject": principal.subject, "client_id": principal.client_id,
        "scopes": sorted(principal.scopes), "roles": list(principal.roles),
        "user_id": str(principal.user_id) if principal.user_id else None, "data_scope": principal.data_scope,
        "team_ids": list(principal.team_ids), "field_policies": dict(principal.field_policies),
    }


def principal_from(data: Mapping[str, Any]) -> Principal:
    """The caller a job acts as, from `principal_json`."""
    return Principal(
        tenant_id=uuid.UUID(data["tenant_id"]), subject=data["subject"], client_id=data["client_id"],
        scopes=frozenset(data["scopes"]), roles=tuple(data["roles"]),
        user_id=uuid.UUID(data["user_id"]) if data.get("user_id") else None, data_scope=data["data_scope"],
        team_ids=tuple(data["team_ids"]), field_policies=dict(data["field_policies"]),
    )


def principal() -> Principal:
    value = current_principal.get()
    if value is None:
        raise Unauthenticated("no authenticated caller")
    return value


JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


class JwksCache:
    """Identity's public keys, refreshed every `ttl` seconds and on an unknown `kid`
    (at most once per `min_refresh_interval`, so forged kids cannot hammer identity)."""

    def __init__(self, fetch: JwksFetcher, ttl: float = 300.0, min_refresh_interval: float = 5.0):
        self._fetch = fetch
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._keys: KeySet | None = None
        self._kids: frozenset[str] = frozenset()
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> KeySet:
        async with self._lock:
            if self._keys is not None and time.monotonic() - self._fetched_at < self._min_refresh_interval:
                return self._keys
            self._keys = KeySet.import_key_set(await self._fetch())  # type: ignore[arg-type]
            self._kids = frozenset(k.kid for k in self._keys if k.kid is not None)
            self._fetched_at = time.monotonic()
            return self._keys

    def published_now(self, kid: str) -> bool:
        """True when the key set is fresh (within `ttl`) and publishes `kid`: what `publishes`
        answers without fetching. False means "ask `publishes`" (stale, or an unknown kid)."""
        return (self._keys is not None and time.monotonic() - self._fetched_at <= self._ttl
                and kid in self._kids)

    async def keyset(self, kid: str | None) -> KeySet:
        keys = self._keys
        if keys is None or time.monotonic() - self._fetched_at > self._ttl:
            keys = await self._refresh()
        if kid is not None and all(k.kid != kid for k in keys):
            keys = await self._refresh()
        return keys

    async def publishes(self, kid: str) -> bool:
        """Whether the key `kid` is (still) published, refreshing as `keyset` does. Key ids are the
        keys' RFC 7638 thumbprints (identity's `ensure_kid`), so one id always means one key."""
        return any(k.kid == kid for k in await self.keyset(kid))


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    claims: Mapping[str, Any]
    kid: str
    # The claims that depend on the clock (validated as NumericDates when the token was verified).
    exp: int | float
    nbf: int | float | None
    iat: int | float | None


# Verified tokens kept per process: bounded by count (a token is ~1 KB; 10,000 callers active
# within one token lifetime is far beyond one replica's load).
VERIFIED_CACHE_SIZE: Final = 10_000


class TokenVerifier:
    def __init__(self, jwks: JwksCache, issuer: str, audience: str, leeway: int = 30,
                 cache_size: int = VERIFIED_CACHE_SIZE):
        self.jwks = jwks
        self.cache_size = cache_size
        self._verified: OrderedDict[str, _Verified] = OrderedDict()
        self.claims_registry = jwt.JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            tid={"essential": True},
            client_id={"essential": True},
        )

    async def verify(self, raw: str) -> Principal:
        """The principal of a valid access token; Unauthenticated otherwise."""
        known = self._verified.get(raw)
        if known is not None:
            if self._in_time(known) and (self.jwks.published_now(known.kid) or await self.jwks.publishes(known.kid)):
                self._verified.move_to_end(raw)
                return known.principal
            # expired (or not yet valid), or its signing key was withdrawn: verified in full again
            self._verified.pop(raw, None)
            raise Unauthenticated("invalid or expired access token")
        principal, claims, kid = await self._verify_signature(raw)
        if kid is not None:  # identity always names the key; a token without a kid is not kept
            self._verified[raw] = _Verified(principal, claims, kid, claims["exp"], claims.get("nbf"), claims.get("iat"))
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return principal

    def _in_time(self, known: _Verified) -> bool:
        """What a full verification of an already verified token could now answer differently, but
        for its key: the claims registry's `validate_exp`, `validate_nbf` and `validate_iat` against
        the clock, the same comparisons with the same `now` (every other claim was checked when the
        token was verified and cannot change)."""
        now = int(time.time())  # the registry's `now`
        leeway = self.claims_registry.leeway
        return not (known.exp <= now - leeway or (known.nbf is not None and known.nbf > now + leeway)
                    or (known.iat is not None and known.iat > now + leeway))

    async def _verify_signature(self, raw: str) -> tuple[Principal, Mapping[str, Any], str | None]:
        try:
            header = unverified_segment(raw, 0)
            typ, kid = header.get("typ"), header.get("kid")
            if not isinstance(typ, str) or typ.lower() != ACCESS_TOKEN_TYPE:
                raise Unauthenticated("not an access token")
            if kid is not None and not isinstance(kid, str):
                raise Unauthenticated("invalid key id")
            keys = await self.jwks.keyset(kid)
            token = jwt.decode(raw, keys, algorithms=[SIGNING_ALGORITHM])
            self.claims_registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated("invalid or expired access token") from exc
        claims = token.claims
        try:
            tenant_id = uuid.UUID(claims["tid"])
            user_id = uuid.UUID(claims["uid"]) if claims.get("uid") else None
        except (ValueError, TypeError, AttributeError, KeyError) as exc:  # a signed token with odd claims
            raise Unauthenticated("invalid access token claims") from exc
        roles = claims.get("roles", [])
        data_scope, team_ids, field_policies = _access_claims(claims, user_id)
        principal = Principal(
            tenant_id=tenant_id,
            subject=str(claims["sub"]),
            client_id=str(claims["client_id"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            user_id=user_id,
            token=raw,
            data_scope=data_scope,
            team_ids=team_ids,
            field_policies=field_policies,
            session_id=str(claims.get("sid") or ""),
        )
        return principal, claims, kid


def _access_claims(claims: Mapping[str, Any], user_id: uuid.UUID | None) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """`ds`, `teams` and `fp`. A token without `ds` acts for the whole tenant when it is a client's
    (client credentials: API clients act for the tenant) and for the user's own records only when it
    names a user (least privilege for a user token minted without the claim)."""
    raw_ds = claims.get("ds")
    if raw_ds is None:
        data_scope = "all" if user_id is None else "own"
    elif raw_ds in DATA_SCOPES:
        data_scope = str(raw_ds)
    else:
        raise Unauthenticated("invalid access token claims")
    raw_teams = claims.get("teams", [])
    raw_fp = claims.get("fp", {})
    if not isinstance(raw_teams, list) or not isinstance(raw_fp, dict):
        raise Unauthenticated("invalid access token claims")
    policies = {str(k): str(v) for k, v in raw_fp.items()}
    if any(v not in FIELD_POLICIES for v in policies.values()):
        raise Unauthenticated("invalid access token claims")
    return data_scope, tuple(str(t) for t in raw_teams), policies


def unverified_segment(raw: str, index: int) -> dict[str, Any]:
    """Segment `index` of a compact JWT (0 header, 1 claims) decoded WITHOUT checking the
    signature: for choosing the key to verify with, or for display of an already verified token.
    Raises ValueError when it is not a JSON object."""
    try:
        part = raw.split(".")[index]
    except IndexError:
        raise ValueError("not a compact JWT") from None
    value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value
