"""A small client of the public API, used by the dev seeder and the end-to-end tests: sign-up,
the browser's authorization-code + PKCE login performed over plain HTTP, API clients and tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx

WEB_CLIENT_ID = "crm-web"


class _FormParser(HTMLParser):
    """Collects the login form's action and inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = values.get("action", "")
        elif tag == "input" and values.get("name"):
            self.inputs[values["name"]] = values.get("value", "")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


@dataclass
class Tenant:
    id: str
    slug: str
    admin_email: str
    admin_password: str
    admin_id: str = ""


class ApiClient:
    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def signup(
        self,
        slug: str,
        *,
        company_name: str | None = None,
        admin_email: str | None = None,
        admin_password: str = "demo-password-1",
        locale: str = "zh-CN",
    ) -> Tenant:
        email = admin_email or f"admin@{slug}.example.com"
        reply = self.http.post(
            "/v1/signup",
            json={
                "company_name": company_name or slug.title(),
                "slug": slug,
                "admin_email": email,
                "admin_password": admin_password,
                "admin_name": "Admin",
                "locale": locale,
            },
        )
        reply.raise_for_status()
        body = reply.json()
        return Tenant(body["tenant"]["id"], slug, email, admin_password, body["admin"]["id"])

    def login_code_flow(
        self,
        slug: str,
        email: str,
        password: str,
        scope: str = "",
        client_id: str = WEB_CLIENT_ID,
        redirect_uri: str | None = None,
    ) -> dict[str, Any]:
        """What a browser does: open the authorize page, submit the login form, follow the redirect
        to get the code, then exchange it with the PKCE verifier."""
        redirect_uri = redirect_uri or f"{self.base_url}/auth/callback"
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        }
        if scope:
            params["scope"] = scope
        page = self.http.get("/oauth/authorize", params=params)
        page.raise_for_status()
        form = _FormParser()
        form.feed(page.text)
        fields = dict(form.inputs)
        for name in fields:
            lowered = name.lower()
            if "password" in lowered:
                fields[name] = password
            elif "email" in lowered:
                fields[name] = email
            elif lowered in ("tenant", "tenant_slug", "slug", "company"):
                fields[name] = slug
        action = urljoin(str(page.url), form.action or "/oauth/authorize")
        submitted = self.http.post(action, data=fields, follow_redirects=False)
        if submitted.status_code not in (302, 303):
            raise RuntimeError(f"login failed: {submitted.status_code} {submitted.text[:300]}")
        location = urlparse(submitted.headers["location"])
        query = parse_qs(location.query)
        if query.get("state") != [state]:
            raise RuntimeError("state mismatch")
        token = self.http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": verifier,
            },
        )
        token.raise_for_status()
        result: dict[str, Any] = token.json()
        return result

    def create_api_client(self, user_token: str, name: str, scopes: list[str]) -> dict[str, Any]:
        reply = self.http.post(
            "/v1/api-clients", json={"name": name, "scopes": scopes}, headers={"Authorization": f"Bearer {user_token}"}
        )
        reply.raise_for_status()
        result: dict[str, Any] = reply.json()
        return result

    def client_credentials(self, client_id: str, client_secret: str, scope: str = "") -> str:
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        reply = self.http.post("/oauth/token", data=data, auth=(client_id, client_secret))
        reply.raise_for_status()
        return str(reply.json()["access_token"])


def post_idempotent(http: httpx.Client, path: str, body: Any, headers: dict[str, str], key: str,
                    timeout: float = 120.0, attempts: int = 6) -> httpx.Response:
    """POSTs `body` under `Idempotency-Key: key`, waiting as told while over the rate limit (429) or
    while the same key is still running (409 `idempotency_key_in_use`), and retrying a request that
    ran past the gateway's deadline (503) up to `attempts` times: the key makes every retry safe
    (a create that did finish is replayed, not repeated). The seed's one way to write."""
    timeouts = 0
    while True:
        reply = http.post(path, json=body, headers={**headers, "Idempotency-Key": key}, timeout=timeout)
        in_use = reply.status_code == 409 and reply.json().get("code") == "idempotency_key_in_use"
        timed_out = reply.status_code == 503 and timeouts < attempts - 1
        timeouts += timed_out
        if reply.status_code != 429 and not in_use and not timed_out:
            return reply
        time.sleep(float(reply.headers.get("retry-after", "1")))
