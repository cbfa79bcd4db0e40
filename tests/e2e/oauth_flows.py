"""HTTP helpers for the OAuth end-to-end tests: the browser's sign-in (login form, then the
consent screen for third-party clients) performed with a plain HTTP client, and a way to mint
tokens with identity's own keys (expired ones, for the 401 tests)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from crm_dev.api_client import _FormParser, pkce_pair
from crm_dev.platform import Platform
from tests.conftest import TenantContext


@dataclass
class Step:
    response: httpx.Response
    verifier: str
    state: str

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlparse(self.response.headers.get("location", "")).query)

    @property
    def is_consent(self) -> bool:
        return self.response.status_code == 200 and "/oauth/authorize/consent" in self.response.text

    def form(self) -> dict[str, str]:
        parser = _FormParser()
        parser.feed(self.response.text)
        return dict(parser.inputs)


def sign_in(http: httpx.Client, tenant: TenantContext, client_id: str, redirect_uri: str, scope: str = "") -> Step:
    """Opens the authorize page and submits the admin's credentials: the answer is a redirect
    (code or error) or, for a third-party client not yet approved, the consent page."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    if scope:
        params["scope"] = scope
    page = http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    parser = _FormParser()
    parser.feed(page.text)
    fields = dict(parser.inputs)
    fields |= {"company": tenant.slug, "email": f"admin@{tenant.slug}.example.com", "password": "demo-password-1"}
    return Step(http.post("/oauth/authorize", data=fields), verifier, state)


def answer_consent(http: httpx.Client, step: Step, decision: str) -> Step:
    assert step.is_consent, step.response.text[:500]
    reply = http.post("/oauth/authorize/consent", data={**step.form(), "decision": decision})
    return Step(reply, step.verifier, step.state)


def code_tokens(http: httpx.Client, tenant: TenantContext, client_id: str, redirect_uri: str, *, secret: str = "",
                scope: str = "", consent: bool = True) -> dict[str, Any]:
    """The whole code flow (allowing consent when asked); returns the token response."""
    step = sign_in(http, tenant, client_id, redirect_uri, scope)
    if step.is_consent and consent:
        step = answer_consent(http, step, "allow")
    assert step.response.status_code == 302, step.response.text[:500]
    assert step.query["state"] == [step.state]
    data = {"grant_type": "authorization_code", "code": step.query["code"][0], "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": step.verifier}
    auth = (client_id, secret) if secret else None
    if auth:
        data.pop("client_id")
    reply = http.post("/oauth/token", data=data, auth=auth)
    assert reply.status_code == 200, reply.text
    tokens: dict[str, Any] = reply.json()
    return tokens


def identity_keyring_token(platform: Platform, tenant_id: str, *, ttl: int, scopes: list[str]) -> str:
    """A token signed with identity's real current key (read from its database with the master
    key, as `crm rotate-keys` does): lets a test present a genuinely signed but expired token."""
    from crm_identity.keys.service import KeyRing
    from crm_platform.db import create_engine

    async def mint() -> str:
        engine = create_engine(platform.database_url("identity"), pool_size=1)
        try:
            ring = KeyRing(engine, platform.secrets["master_key"], platform.gateway_url, "crm-api")
            await ring.load()
            return ring.issue(subject="client:test", tenant_id=tenant_id, client_id="test", scopes=scopes, ttl=ttl)
        finally:
            await engine.dispose()

    return asyncio.run(mint())
