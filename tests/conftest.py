"""The whole platform, started once per test session; each test makes its own tenant."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from crm_dev.api_client import ApiClient
from crm_dev.platform import Platform

# Fixtures for service-level packages (infra, engine, nc, tenant_id, token_for, ...).
pytest_plugins = ["tests.support"]

ALL_SCOPES = [
    "customers:read",
    "customers:write",
    "tags:read",
    "tags:manage",
    "followups:read",
    "followups:write",
    "followups:manage",
    "reports:read",
    "webhooks:manage",
]

SUITE_RATE_LIMITS = {
    "CRM_GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "10000", "CRM_GATEWAY_RATE_LIMIT_CLIENT_BURST": "100000",
    "CRM_GATEWAY_RATE_LIMIT_TENANT_PER_SECOND": "10000", "CRM_GATEWAY_RATE_LIMIT_TENANT_BURST": "100000",
}


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # Short webhook retries so retry behaviour is observable within a test; rate limits far above
    # what the suite sends (429 is tested on an in-process gateway with tiny limits).
    stack = Platform(tmp_path_factory.mktemp("platform"), extra_env={
        "CRM_WEBHOOKS_RETRY_SCHEDULE": "1,1,2", **SUITE_RATE_LIMITS,
    })
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def api(platform: Platform) -> Iterator[ApiClient]:
    client = ApiClient(platform.gateway_url)
    yield client
    client.close()


@dataclass
class TenantContext:
    """A fresh tenant with its admin's user token and a client-credentials helper."""

    api: ApiClient
    slug: str
    tenant_id: str
    admin_token: str
    _tokens: dict[str, str] = field(default_factory=dict)

    def token(self, scopes: list[str] | None = None) -> str:
        key = " ".join(sorted(scopes or ALL_SCOPES))
        if key not in self._tokens:
            client = self.api.create_api_client(self.admin_token, f"tests-{len(self._tokens)}", scopes or ALL_SCOPES)
            self._tokens[key] = self.api.client_credentials(client["client_id"], client["client_secret"])
        return self._tokens[key]

    def http(self, scopes: list[str] | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.api.base_url, timeout=30, headers={"Authorization": f"Bearer {self.token(scopes)}"}
        )


def new_tenant(api: ApiClient) -> TenantContext:
    slug = f"t-{secrets.token_hex(5)}"
    tenant = api.signup(slug)
    admin = api.login_code_flow(slug, tenant.admin_email, tenant.admin_password)
    return TenantContext(api, slug, tenant.id, admin["access_token"])


@pytest.fixture
def tenant(api: ApiClient) -> TenantContext:
    return new_tenant(api)


@pytest.fixture
def other_tenant(api: ApiClient) -> TenantContext:
    return new_tenant(api)


def wait_for(probe: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Polls `probe()` until it returns something truthy; fails with the last value."""
    import time

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
