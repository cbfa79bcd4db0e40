"""The customers service's own cost of the two hot reads (issue 9 §6), in process: GetCustomer and
the first list page of 50, through the real edge interceptor and gRPC (the client is in the same
process), on real PostgreSQL. Prints CPU milliseconds per call (best of three runs) of this process and,
beside it, of the test PostgreSQL's processes (backends and all, from /proc: the database's own work
per call), and Python function calls per call (cProfile: the same on any machine, so two versions
compare exactly). A benchmark, run on demand:

    .venv/bin/python -m pytest tests/customers/test_read_cost.py -m bench -s -q

The whole path next to a bare hop: tests/bench/bench_api.py; the gateway's share alone:
tests/bench/bench_gateway_reads.py."""

from __future__ import annotations

import cProfile
import os
import pstats
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_proto.crm.customers.v1 import customers_pb2 as pb
from tests.customers.conftest import Metadata
from tests.customers.test_owners import record, user_event

pytestmark = pytest.mark.bench

CALLS = {"get": 600, "list": 100}


def _postgres_cpu(postmaster: int) -> float:
    """Seconds of CPU used so far by the PostgreSQL server's processes (the postmaster's children)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:  # ppid
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def _cost(call: Callable[[int], Awaitable[Any]], count: int, postmaster: int) -> tuple[float, float, float]:
    for number in range(20):
        await call(number)
    runs, database = [], []
    for _ in range(3):
        started, pg_started = time.process_time(), _postgres_cpu(postmaster)
        for number in range(count):
            await call(number)
        runs.append((time.process_time() - started) / count * 1000)
        database.append((_postgres_cpu(postmaster) - pg_started) / count * 1000)
    profile = cProfile.Profile()
    profile.enable()
    for number in range(count):
        await call(number)
    profile.disable()
    return min(runs), min(database), pstats.Stats(profile).total_calls / count  # type: ignore[attr-defined]


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

    async with engine.connect() as connection:
        data_directory = (await connection.execute(sa.text("SHOW data_directory"))).scalar_one()
    postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    print(f"\n{'read':<6} {'CPU ms/call':>12} {'PostgreSQL ms/call':>19} {'calls/call':>11}")
    for name, call in (("get", get), ("list", page)):
        cpu, database, calls = await _cost(call, CALLS[name], postmaster)
        print(f"{name:<6} {cpu:>12.3f} {database:>19.3f} {calls:>11.0f}")
