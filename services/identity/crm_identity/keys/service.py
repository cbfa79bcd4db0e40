"""Token signing keys: ES256 keys whose private half is stored encrypted (AES-GCM under the
master key). The newest key signs; every key not yet retired is published in the JWKS, so
tokens signed before a rotation stay verifiable until they expire."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_identity.tables import signing_keys
from crm_platform.auth import ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM
from crm_platform.db import control_session
from crm_platform.ids import new_id


class KeyRing:
    def __init__(self, engine: AsyncEngine, master_key_b64: str, issuer: str, audience: str):
        self.engine = engine
        self._aead = AESGCM(base64.b64decode(master_key_b64))
        self.issuer = issuer
        self.audience = audience
        self._active: ECKey | None = None
        self._public: list[dict[str, Any]] = []

    def _seal(self, plaintext: bytes, kid: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def _open(self, sealed: bytes, kid: str) -> bytes:
        return self._aead.decrypt(sealed[:12], sealed[12:], kid.encode())

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
        newest = rows[-1]
        self._active = ECKey.import_key(json.loads(self._open(newest.private_jwk_encrypted, newest.kid)))
        self._public = [row.public_jwk for row in rows]

    async def rotate(self, retire_after: timedelta) -> str:
        """Makes a new signing key; the previous ones are retired after `retire_after`
        (the access-token lifetime), so their tokens keep verifying until they expire."""
        key = ECKey.generate_key("P-256", private=True)
        key.ensure_kid()
        kid = str(key.kid)
        private = json.dumps(key.as_dict(private=True)).encode()
        public = {**key.as_dict(private=False), "use": "sig", "alg": SIGNING_ALGORITHM}
        async with control_session(self.engine) as session:
            await session.execute(
                sa.update(signing_keys)
                .where(signing_keys.c.retired_at.is_(None))
                .values(retired_at=datetime.now(UTC) + retire_after)
            )
            await session.execute(
                sa.insert(signing_keys).values(
                    kid=kid, private_jwk_encrypted=self._seal(private, kid), public_jwk=public
                )
            )
        await self.load()
        return kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self._public)}

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
    ) -> str:
        """An RFC 9068 access token."""
        if self._active is None:
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
            "jti": str(new_id()),
        }
        if user_id is not None:
            claims["uid"] = str(user_id)
        if roles:
            claims["roles"] = roles
        header = {"alg": SIGNING_ALGORITHM, "kid": self._active.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(header, claims, self._active, algorithms=[SIGNING_ALGORITHM])
