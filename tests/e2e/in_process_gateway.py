"""A second gateway replica inside the test process, against the session's real services and
NATS, with settings of the test's choosing (tiny rate limits, an unreachable service, ...)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from crm_dev.platform import Platform
from crm_gateway.app import create_app
from crm_gateway.settings import GatewaySettings


@contextmanager
def in_process_gateway(platform: Platform, **overrides: Any) -> Iterator[TestClient]:
    values: dict[str, Any] = {
        name.removeprefix("CRM_GATEWAY_").lower(): value for name, value in platform.gateway_env().items()
    }
    # One process here, whatever the platform's gateway runs with: it holds the whole rate-limit budget.
    settings = GatewaySettings(**(values | {"workers": 1} | overrides))  # CRM_GATEWAY_RPC_DEADLINE: from the env
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
