"""Token signing keys: ES256 keys whose private half is stored encrypted (AES-GCM under the
master key). The newest key whose activation time has come signs; every key not yet retired is
published in the JWKS, so tokens signed before a rotation stay verifiable until they expire.

Rotation (`KeyRing.rotate`, run by `crm rotate-keys`) writes the database only; every identity
replica re-reads the keys every few seconds (`KeyReloader`), and services' JWKS caches refetch
when a token names a key id they do not know, at most once per few seconds. So a rotation
publishes the new key `publish_ahead` before it signs anything (longer than the replicas' reload
plus the verifiers' refetch interval): by the time the first token with the new kid arrives, every
verifier either holds the key or may refetch."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.sealing import Sealer
from crm_identity.tables import signing_keys
from crm_platform.auth import ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM
from crm_platform.db import control_session
from crm_platform.ids import new_id

log = logging.getLogger(__name__)


class KeyRing:
    def __init__(self, engine: AsyncEngine, master_key_b64: str, issuer: str, audience: str):
        self.engine = engine
        self._sealer = Sealer(master_key_b64)  # shared with TOTP secrets (crm_identity/sealing.py)
        self.issuer = issuer
        self.audience = audience
        # Every live key, oldest first, with when it starts signing (None: at once).
        self._signing: list[tuple[datetime | None, ECKey]] = []
        self._public: list[dict[str, Any]] = []
        self._claims = jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            jti={"essential": True},
            tid={"essential": True},
            client_id={"essential": True},
        )

    def _seal(self, plaintext: bytes, kid: str) -> bytes:
        return self._sealer.seal(plaintext, kid)

    def _open(self, sealed: bytes, kid: str) -> bytes:
        return self._sealer.open(sealed, kid)

    async def load(self) -> None:
        """Loads the keys, creating the first one on a fresh installation."""
        async with control_session(self.engine) as session:
            rows = (
                await session.execute(
                    sa.select(signing_keys)
                    .where(sa.or_(signing_keys.c.retired_at.is_(None), signing_keys.c.retired_at > sa.func.now()))
                    .order_by(signing_keys.c.created_at)
                )
            ).all()
        if not rows:
            await self.rotate(retire_after=timedelta(0))
            return
        self._signing = [
            (row.activates_at, ECKey.import_key(json.loads(self._open(row.private_jwk_encrypted, row.kid))))
            for row in rows
        ]
        self._public = [row.public_jwk for row in rows]

    def _active(self) -> ECKey | None:
        """The newest key whose activation time has come: a published key waiting for its time
        does not sign yet (the switch happens on time, not at the next reload)."""
        now = datetime.now(UTC)
        active = [key for activates_at, key in self._signing if activates_at is None or activates_at <= now]
        return active[-1] if active else None

    async def rotate(self, retire_after: timedelta, publish_ahead: timedelta = timedelta(0)) -> str:
        """Makes a new signing key, published at once and signing after `publish_ahead`; the
        previous ones are retired `retire_after` (the access-token lifetime) after that, so their
        tokens keep verifying until they expire. `publish_ahead` 0 with `retire_after` 0 replaces a
        compromised key at once."""
        key = ECKey.generate_key("P-256", private=True)
        key.ensure_kid()
        kid = str(key.kid)
        private = json.dumps(key.as_dict(private=True)).encode()
        public = {**key.as_dict(private=False), "use": "sig", "alg": SIGNING_ALGORITHM}
        activates_at = datetime.now(UTC) + publish_ahead
        async with control_session(self.engine) as session:
            await session.execute(
                sa.update(signing_keys)
                .where(signing_keys.c.retired_at.is_(None))
                .values(retired_at=activates_at + retire_after)
            )
            await session.execute(
                sa.insert(signing_keys).values(
                    kid=kid, private_jwk_encrypted=self._seal(private, kid), public_jwk=public,
                    activates_at=activates_at if publish_ahead > timedelta(0) else None,
                )
            )
        await self.load()
        return kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self._public)}

    @property
    def active_kid(self) -> str | None:
        active = self._active()
        return str(active.kid) if active is not None else None

    def decode(self, raw: str) -> dict[str, Any] | None:
        """The claims of an access token this issuer signed with a published key and that has
        not expired; None for anything else (forged, expired, another issuer, not a JWT)."""
        try:
            header = jwt.decode(raw, KeySet.import_key_set(self.jwks()), algorithms=[SIGNING_ALGORITHM])  # type: ignore[arg-type]
            if str(header.header.get("typ", "")).lower() != ACCESS_TOKEN_TYPE:
                return None
            self._claims.validate(header.claims)
        except (JoseError, ValueError, TypeError):
            return None
        return dict(header.claims)

    def issue(
        self,
        *,
        subject: str,
        tenant_id: uuid.UUID | str,
        client_id: str,
        scopes: list[str],
        ttl: int,
        user_id: uuid.UUID | None = None,
        roles: list[str] | None = None,
        data_scope: str | None = None,
        team_ids: list[str] | None = None,
        field_policies: dict[str, str] | None = None,
        jti: str | None = None,
        session_id: str | None = None,
        user_claims: dict[str, str] | None = None,
    ) -> str:
        """An RFC 9068 access token. User tokens also carry `ds` (data scope), `teams` (teams
        visible with data scope "team") and `fp` (restricted customer fields): docs/access.md.
        `jti` may be chosen by the caller (to audit it); `session_id` becomes `sid`, the sign-in
        session (refresh-token family) the token belongs to."""
        signing = self._active()
        if signing is None:
            raise RuntimeError("signing keys not loaded")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "client_id": client_id,
            "tid": str(tenant_id),
            "scope": " ".join(scopes),
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": jti or str(new_id()),
        }
        if session_id:
            claims["sid"] = session_id
        if user_id is not None:
            claims["uid"] = str(user_id)
        if roles:
            claims["roles"] = roles
        # OpenID Connect's `name`, `locale`, `zoneinfo` (users/preferences.py): what pages show
        # and how, without asking identity per page.
        claims.update({k: v for k, v in (user_claims or {}).items() if v})
        if data_scope is not None:
            claims["ds"] = data_scope
            claims["teams"] = list(team_ids or [])
            claims["fp"] = dict(field_policies or {})
        header = {"alg": SIGNING_ALGORITHM, "kid": signing.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(header, claims, signing, algorithms=[SIGNING_ALGORITHM])


class KeyReloader:
    """Re-reads the signing keys every `interval` seconds, so a rotation made by another replica or
    by `crm rotate-keys` (which only writes the database) reaches this process, and retired keys
    leave the JWKS on time."""

    def __init__(self, keys: KeyRing, interval: float):
        self.keys = keys
        self.interval = interval
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)
            except TimeoutError:
                try:
                    await self.keys.load()
                except Exception:  # the database may be briefly unreachable; keep the keys we have
                    log.warning("could not reload signing keys", exc_info=True)

    def stop(self) -> None:
        self._stopping.set()


async def rotate_signing_keys(database_url: str, master_key_b64: str, retire_after: timedelta,
                              publish_ahead: timedelta = timedelta(0)) -> tuple[str, list[str]]:
    """What `crm rotate-keys` runs against identity's database: a new signing key, published at
    once and signing after `publish_ahead` (keep it longer than identity's key reload interval plus
    the verifiers' JWKS refetch interval), with every current key retired `retire_after` after that
    (keep it at least the access-token lifetime plus the verifiers' leeway). Returns the new kid and
    every kid now published."""
    from crm_platform.db import create_engine

    engine = create_engine(database_url, pool_size=1)
    try:
        keys = KeyRing(engine, master_key_b64, issuer="", audience="")
        await keys.load()  # fails here, before any change, if the master key is wrong
        kid = await keys.rotate(retire_after=retire_after, publish_ahead=publish_ahead)
        return kid, [str(k["kid"]) for k in keys.jwks()["keys"]]
    finally:
        await engine.dispose()
