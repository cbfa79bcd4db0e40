"""Process entry point: settings from the environment, JSON logs, uvicorn."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from crm_gateway.app import create_app
from crm_gateway.settings import GatewaySettings
from crm_platform import telemetry


def load_settings() -> GatewaySettings:
    try:
        return GatewaySettings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as exc:
        # Name the environment variable, not the Python field.
        for error in exc.errors():
            variable = "CRM_GATEWAY_" + str(error["loc"][0]).upper() if error["loc"] else "CRM_GATEWAY_*"
            print(f"gateway: {variable}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def main() -> None:
    settings = load_settings()
    telemetry.setup("gateway", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # JSON logs from crm_platform.telemetry
        server_header=False,
        proxy_headers=True,
    )
