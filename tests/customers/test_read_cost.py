"""The customers service's own cost of the two hot reads (issue 9 §6), in process: GetCustomer and
the first list page of 50, through the real edge interceptor and gRPC (the client is in the same
process), on real PostgreSQL. Prints CPU milliseconds per call (best of three runs; this process
only, PostgreSQL not counted) and Python function calls per call (cProfile: the same on any machine,
so two versions compare exactly). A benchmark, run on demand:

    .venv/bin/python -m pytest tests/customers/test_read_cost.py -m bench -s -q

The whole path next to a bare hop: tests/bench/bench_api.py; the gateway's share alone:
tests/bench/bench_gateway_reads.py."""

from __future__ import annotations

import cProfile
import pstats
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.customers.conftest import Metadata
from tests.customers.test_owners import record, user_event

pytestmark = pytest.mark.bench

CALLS = {"get": 300, "list": 60}


async def _cost(call: Callable[[int], Awaitable[Any]], count: int) -> tuple[float, float]:
    for number in range(20):
        await call(number)
    runs = []
    for _ in range(3):
        started = time.process_time()
        for number in range(count):
            await call(number)
        runs.append((time.process_time() - started) / count * 1000)
    profile = cProfile.Profile()
    profile.enable()
    for number in range(count):
        await call(number)
    profile.disable()
    return min(runs), pstats.Stats(profile).total_calls / count  # type: ignore[attr-defined]


async def test_read_cost(engine: AsyncEngine, tenant_id: uuid.UUID, customers: Any, as_user: Metadata) -> None:
    owner = uuid.uuid4()
    await record(engine, tenant_id, user_event(tenant_id, owner, 1, "王芳"))
    metadata = as_user(["customers:read", "customers:write"])
    ids = []
    for number in range(50):  # as the API benchmark seeds them
        made = await customers.CreateCustomer(pb.CreateCustomerRequest(customer=pb.CustomerInput(
            name=f"上海星辰科技有限公司{number}", mobile=f"138{number:08d}", owner_id=str(owner),
            email=f"c{number}@example.cn", contact_person="王伟", industry="IT")), metadata=metadata)
        ids.append(made.id)

    async def get(number: int) -> Any:
        return await customers.GetCustomer(pb.GetCustomerRequest(id=ids[number % len(ids)]), metadata=metadata)

    async def page(number: int) -> Any:
        return await customers.ListCustomers(pb.ListCustomersRequest(page_size=50), metadata=metadata)

    print(f"\n{'read':<6} {'CPU ms/call':>12} {'calls/call':>11}")
    for name, call in (("get", get), ("list", page)):
        cpu, calls = await _cost(call, CALLS[name])
        print(f"{name:<6} {cpu:>12.3f} {calls:>11.0f}")
