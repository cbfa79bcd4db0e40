"""The bare hop the API benchmark compares with (tests/bench/bench_api.py): an HTTP request into
FastAPI, one unary grpc.aio call to a trivial servicer, a small JSON answer. No token, no
database, no middleware. Served exactly as the gateway and the services are served (the gateway's
uvicorn options and worker count, the services' event loop), so the ratio of a real endpoint to
this hop is what the platform's own code costs.

    python -m tests.bench.hop grpc <port>                 # the trivial servicer
    python -m tests.bench.hop http <port> <grpc address>  # FastAPI in front of it
"""

from __future__ import annotations

import os
import sys
from typing import Any

import grpc
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from crm_gateway.main import serve_http
from crm_platform.grpc_client import channel
from crm_platform.runtime import run_loop

GRPC_ADDRESS_ENV = "CRM_BENCH_HOP_GRPC"


def app_factory() -> FastAPI:
    """One route, `GET /hop/{id}`: one gRPC call (the health check, a trivial servicer), then JSON."""
    app = FastAPI()
    stubs: dict[str, Any] = {}

    @app.get("/hop/{item_id}")
    async def hop(item_id: str) -> dict[str, str]:
        stub = stubs.get("health")
        if stub is None:  # channels bind to the running loop: made on first use in each worker
            stub = stubs["health"] = health_pb2_grpc.HealthStub(channel(os.environ[GRPC_ADDRESS_ENV]))
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=5.0)
        return {"id": item_id, "status": health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}

    return app


async def serve_grpc(port: int) -> None:
    server = grpc.aio.server(options=[("grpc.keepalive_time_ms", 30_000)])
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.start()
    await server.wait_for_termination()


def main(argv: list[str]) -> None:
    kind, port = argv[0], int(argv[1])
    if kind == "grpc":
        run_loop(serve_grpc(port))
    else:
        os.environ[GRPC_ADDRESS_ENV] = argv[2]
        serve_http("tests.bench.hop:app_factory", host="127.0.0.1", port=port,
                   workers=int(os.environ.get("CRM_GATEWAY_WORKERS", "1")))


if __name__ == "__main__":
    main(sys.argv[1:])
