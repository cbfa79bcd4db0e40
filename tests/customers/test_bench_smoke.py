"""The list benchmark's query code at 2,000 rows (tests/bench/bench_customer_list.py): every
query shape's first page, through CustomerService.list with the shape's principal, is exactly the
page computed in Python from the generated rows (filters, data scope, sort, soft delete)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform.ids import tenant_schema
from tests.bench import bench_customer_list as bench
from tests.support import Infra

ROWS = 2000


async def test_bench_query_shapes_return_correct_first_pages(
    infra: Infra, engine: AsyncEngine, provision_tenant: Callable[[], uuid.UUID]
) -> None:
    tenant = provision_tenant()
    schema = tenant_schema(tenant)
    sync_url = infra.database_url.replace("postgresql+psycopg", "postgresql")
    await bench.define_fields(engine, tenant)
    industries, regions = await bench.load_dictionaries(engine, tenant)
    world = bench.make_world(industries, regions)
    bench.prepare_tenant(sync_url, schema, world)
    rows = list(bench.generate(0, ROWS, world))
    assert bench.copy_rows(sync_url, schema, rows) == ROWS
    assert bench.check_keys(rows[:200]) > 0.9

    service = bench.new_service()
    non_empty = set()
    for shape in bench.SHAPES:
        for i in range(3):
            got = [r.id for r in await bench.first_page(service, engine, tenant, shape, world, i)]
            assert got == bench.expected_page(rows, shape, world, i), (shape.name, i)
            if got:
                non_empty.add(shape.name)
    # The shapes really select rows (else equal empty pages would prove nothing); at 2,000 rows
    # only the deliberately rare searches may come back empty.
    rare = {"all, q rare (no match)", "all, q mobile digits", "all, q 2 chars rare (worst case)"}
    assert sorted({s.name for s in bench.SHAPES} - rare - non_empty) == []
