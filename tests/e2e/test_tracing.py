"""One trace from the HTTP request through gRPC, the outbox, NATS, a consumer and the event the
consumer emits: the W3C trace id the client sent is found on every hop."""

from __future__ import annotations

import asyncio
import secrets

import nats

from crm_dev.platform import Platform
from crm_platform import events
from tests.conftest import TenantContext


async def _headers_of(nats_url: str, subject: str, count: int) -> list[dict[str, str]]:
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        sub = await js.pull_subscribe(subject, stream=events.STREAM)  # ephemeral, reads from the start
        found: list[dict[str, str]] = []
        for _ in range(60):
            try:
                messages = await sub.fetch(10, timeout=0.5)
            except TimeoutError:
                messages = []
            found += [dict(m.headers or {}) for m in messages]
            if len(found) >= count:
                break
        return found
    finally:
        await client.close()


def test_trace_context_crosses_grpc_nats_and_consumers(platform: Platform, tenant: TenantContext) -> None:
    http = tenant.http()
    tag_id = http.post("/v1/tags", json={"name": "traced"}).json()["id"]
    assert http.post("/v1/tag-rules", json={"tag_id": tag_id, "field": "industry", "operator": "equals",
                                            "value": "trace"}).status_code == 201
    trace_id = secrets.token_hex(16)
    reply = http.post("/v1/customers", json={"name": "Trace Co.", "industry": "trace", "mobile": "13600136000"},
                      headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    assert reply.status_code == 201, reply.text
    assert reply.headers["x-trace-id"] == trace_id

    created = asyncio.run(_headers_of(platform.nats.url, f"crm.{tenant.tenant_id}.customer.created", 1))
    assert trace_id in created[0]["traceparent"]  # gateway -> customers -> outbox -> NATS
    applied = asyncio.run(_headers_of(platform.nats.url, f"crm.{tenant.tenant_id}.tag.applied", 1))
    assert trace_id in applied[0]["traceparent"]  # -> tagging's consumer -> its outbox -> NATS
