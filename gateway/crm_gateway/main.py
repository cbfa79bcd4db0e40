"""Process entry point: settings from the environment, JSON logs, uvicorn."""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from crm_gateway.app import create_app
from crm_gateway.settings import GatewaySettings
from crm_platform import telemetry

WORKER_HEALTHCHECK_SECONDS = 60


def load_settings() -> GatewaySettings:
    try:
        return GatewaySettings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as exc:
        # Name the environment variable, not the Python field.
        for error in exc.errors():
            variable = "CRM_GATEWAY_" + str(error["loc"][0]).upper() if error["loc"] else "CRM_GATEWAY_*"
            print(f"gateway: {variable}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def app_from_env() -> FastAPI:
    """The application factory uvicorn calls (in each worker process)."""
    settings = load_settings()
    telemetry.setup("gateway", settings.log_level)
    return create_app(settings)


def serve_http(factory: str, *, host: str, port: int, workers: int = 1) -> None:
    """How the gateway is served (tests/bench/hop.py serves its bare hop the same way)."""
    uvicorn.run(
        factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,  # JSON logs from crm_platform.telemetry
        server_header=False,
        proxy_headers=True,
        # The supervisor kills a worker that does not answer its ping within this: uvicorn's 5 s
        # killed workers still importing on a loaded machine, again and again (none ever started).
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )


def main() -> None:
    settings = load_settings()
    telemetry.setup("gateway", settings.log_level)
    serve_http("crm_gateway.main:app_from_env", host=settings.http_host, port=settings.http_port,
               workers=settings.workers)
