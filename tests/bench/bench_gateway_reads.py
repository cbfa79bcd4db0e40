"""The gateway's own cost of the two hot customer reads, in process and without contention (issue 9
§6): the ASGI application called directly, every middleware and dependency included, with the
customers service's replies canned (a customer as seeded over REST; a page of 50). Prints CPU
milliseconds per request (best of five runs: a shared machine only ever adds) and Python function
calls per request (cProfile: the same on any machine, so two versions compare exactly).

    .venv/bin/python tests/bench/bench_gateway_reads.py

The whole path, services and PostgreSQL included, next to a bare hop: tests/bench/bench_api.py.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from joserfc.jwk import ECKey
from pydantic import SecretStr

from crm_gateway.app import create_app
from crm_gateway.settings import GatewaySettings
from crm_platform.auth import JwksCache, TokenVerifier
from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.gateway.gateway_testkit import AUDIENCE, ISSUER, NOWHERE, make_token

PATHS = {"get": "/v1/customers/0193a5d2-0000-7000-8000-000000000001", "list": "/v1/customers?page_size=50"}


def _stamp(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def seeded_customer(number: int) -> pb.Customer:
    """What the customers service answers for a customer the API benchmark seeds."""
    now = _stamp(datetime.now(UTC))
    message = pb.Customer(
        id=str(uuid.uuid4()), code=f"C-2026-{number:06d}", name="上海星辰科技有限公司", type="enterprise",
        contact_person="王伟", mobile="+8613800138000", email=f"c{number}@example.cn", industry="IT",
        region="华东/上海", source="web", owner_id=str(uuid.uuid4()), status="potential", version=1, created_at=now,
        updated_at=now, created_by="client:bench", updated_by="client:bench", annual_revenue_currency="CNY",
    )
    message.custom_fields.SetInParent()
    message.annual_spend.SetInParent()
    message.lifetime_value.SetInParent()
    return message


class CannedCustomers:
    """The customers stub: replies parsed from bytes on every call, as the gRPC client does."""

    def __init__(self) -> None:
        self.one = seeded_customer(1).SerializeToString()
        self.page = pb.ListCustomersResponse(items=[seeded_customer(n) for n in range(50)],
                                             next_page_token="next").SerializeToString()

    async def GetCustomer(self, request: Any, **call: Any) -> pb.Customer:  # metadata, timeout: as a stub takes
        return pb.Customer.FromString(self.one)

    async def ListCustomers(self, request: Any, **call: Any) -> pb.ListCustomersResponse:
        return pb.ListCustomersResponse.FromString(self.page)


class CannedBackends:
    customers = CannedCustomers()


async def measure(path: str, requests: int) -> tuple[float, float]:
    """(best CPU ms per request of five runs, Python function calls per request)."""
    key = ECKey.generate_key("P-256", auto_kid=True)
    public = {"keys": [{**key.as_dict(private=False), "use": "sig", "alg": "ES256"}]}

    async def jwks() -> dict[str, Any]:
        return public

    settings = GatewaySettings(  # type: ignore[call-arg]
        public_url="http://testserver", session_secret=SecretStr("s" * 40), identity_addr=NOWHERE,
        customers_addr=NOWHERE, tagging_addr=NOWHERE, followups_addr=NOWHERE, reporting_addr=NOWHERE,
        webhooks_addr=NOWHERE, token_issuer=ISSUER, token_audience=AUDIENCE, nats_url="nats://127.0.0.1:1",
        rate_limit_client_per_second=1e9, rate_limit_client_burst=10**9, rate_limit_tenant_per_second=1e9,
        rate_limit_tenant_burst=10**9,
    )
    app = create_app(settings, backends=CannedBackends(),  # type: ignore[arg-type]
                     verifier=TokenVerifier(JwksCache(jwks), ISSUER, AUDIENCE))
    token = make_token(key, uid=None, scope="customers:read")  # an API client's token (data scope all)
    raw_path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": raw_path, "raw_path": raw_path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode()),
                         (b"user-agent", b"bench")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def once() -> None:
        sent.clear()
        await app({**scope, "state": {}}, receive, send)
        if sent[0]["status"] != 200:
            raise RuntimeError(f"{path}: {sent[0]['status']} {sent[1:]}")

    for _ in range(50):
        await once()
    runs = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(requests):
            await once()
        runs.append((time.process_time() - started) / requests * 1000)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(100):
        await once()
    profile.disable()
    return min(runs), pstats.Stats(profile).total_calls / 100  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests per timed run (a list: a quarter)")
    args = parser.parse_args()
    print(f"{'read':<6} {'CPU ms/request':>15} {'calls/request':>14}")
    for name, path in PATHS.items():
        cpu, calls = asyncio.run(measure(path, args.requests if name == "get" else max(1, args.requests // 4)))
        print(f"{name:<6} {cpu:>15.3f} {calls:>14.0f}")


if __name__ == "__main__":
    main()
