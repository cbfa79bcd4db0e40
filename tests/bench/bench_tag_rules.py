"""Tag rule sweep benchmark (issue 14): N customers' rule facts in one tenant (industry, last
interaction spread over 400 days, one order for half of them), three rules of the kinds the guide
names — a field rule (industry = 制造, ~5 %), "ordered in the last 30 days" (~4 %) and "no
interaction for 365 days" (~9 %) — then the real `AutoTagService.sweep` (set-based INSERT per rule,
every change announced to the outbox with its history row) twice: the first sweep tags every
match; the second (the daily steady state) finds nothing new. Both run as the job runs them
(`sweeps.sweep_runner`: chunks of 50,000 customers, one commit each; the slowest chunk is printed).
Baseline in the same run: the bare `SELECT count(*)` of each rule's matches over the same table.

    .venv/bin/python tests/bench/bench_tag_rules.py --customers 1000000

Target: the sweep over 1,000,000 customers in <= 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from crm_dev.infra import EmbeddedPostgres, free_port
from crm_platform import jobs, migrations
from crm_platform.customer_scope import CustomerAccess
from crm_platform.db import create_engine, tenant_session
from crm_platform.ids import new_id, tenant_schema
from crm_platform.pagination import PageTokens
from crm_tagging import access
from crm_tagging.autotag import sweeps
from crm_tagging.autotag.conditions import compile_conditions
from crm_tagging.autotag.service import SWEEP_JOB, AutoTagService, RuleInput
from crm_tagging.autotag.tables import rule_facts
from crm_tagging.main import DEFINITION
from crm_tagging.tag.service import TagService

RULES = (
    ("制造业", {"field": "industry", "op": "equals", "value": "制造"}),
    ("近30天下单", {"metric": "orders_in_days", "days": 30, "op": "gte", "value": 1}),
    ("流失风险", {"metric": "days_since_last_interaction", "op": "gte", "value": 365}),
)


class TimedChunks(AutoTagService):
    """The real service, timing each chunk (each is one commit in the job)."""

    def __init__(self, tags: TagService):
        super().__init__(tags)
        self.seconds: list[float] = []

    async def sweep_chunk(self, session: AsyncSession, tenant_id: uuid.UUID | str, **given: Any
                          ) -> tuple[dict[str, int], uuid.UUID | None]:
        started = time.perf_counter()
        try:
            return await super().sweep_chunk(session, tenant_id, **given)
        finally:
            self.seconds.append(time.perf_counter() - started)


class NobodyAsked:
    async def lookup(self, principal: object, customer_id: object) -> tuple[bool, None]:
        return False, None


def load(url: str, schema: str, customers: int) -> None:
    """Facts for `customers` customers and one order each for half of them, generated in SQL."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"""
            INSERT INTO "{schema}".rule_facts (customer_id, fields, deleted, version, created_at, last_interaction_at)
            SELECT gen_random_uuid(),
                   jsonb_build_object('industry', (ARRAY['制造','零售','it','金融','教育','医疗','物流','能源',
                                       '餐饮','地产','咨询','传媒','农业','汽车','化工','电子','服装','建筑',
                                       '旅游','其他'])[1 + (i % 20)], 'name', '客户' || i),
                   false, 1, now() - interval '800 days', now() - (random() * 400) * interval '1 day'
            FROM generate_series(1, {customers}) AS i""")
        conn.execute(f"""
            INSERT INTO "{schema}".rule_orders (order_id, customer_id, amount, currency, ordered_on, status, version)
            SELECT gen_random_uuid(), customer_id, (random() * 200000)::numeric(18, 2), 'CNY',
                   current_date - (random() * 365)::int, 'paid', 1
            FROM "{schema}".rule_facts TABLESAMPLE BERNOULLI (50)""")
        conn.execute(f'VACUUM ANALYZE "{schema}".rule_facts')
        conn.execute(f'VACUUM ANALYZE "{schema}".rule_orders')


async def main_async(args: argparse.Namespace) -> int:
    root = tempfile.mkdtemp(prefix="crm-bench-tag-rules-")
    postgres = EmbeddedPostgres(Path(root) / "pg", free_port(), Path(root) / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("bench")
        url = postgres.url("bench")
        plain = url.replace("postgresql+psycopg", "postgresql")
        migrations.upgrade_control(url, None)
        tenant = new_id()
        migrations.upgrade_tenant(url, DEFINITION.tenant_tree, tenant)
        started = time.perf_counter()
        load(plain, tenant_schema(tenant), args.customers)
        print(f"{args.customers:,} customers' rule facts loaded in {time.perf_counter() - started:.1f} s; "
              f"load average {os.getloadavg()}")

        engine = create_engine(url)
        tags = TagService(PageTokens("bench"), CustomerAccess(access.customer_scope, access.user_teams,
                                                               NobodyAsked()))
        autotag = AutoTagService(tags)
        async with tenant_session(engine, tenant) as session:
            for name, conditions in RULES:
                tag = await tags.create(session, name=name, color="")
                await autotag.create_rule(session, tenant, RuleInput(
                    tag_id=str(tag.id), name=name, conditions_json=json.dumps(conditions)))

        baseline_started = time.perf_counter()
        counts = []
        async with tenant_session(engine, tenant) as session:
            for _, conditions in RULES:
                condition = compile_conditions({"all": [conditions]})
                counts.append(int((await session.execute(
                    sa.select(sa.func.count()).select_from(rule_facts).where(~rule_facts.c.deleted, condition)
                )).scalar_one()))
        baseline = time.perf_counter() - baseline_started

        runs = []
        for label in ("first sweep (tags every match)", "second sweep (steady state, nothing new)"):
            timed = TimedChunks(tags)
            sweep_started = time.perf_counter()
            cpu_started = time.process_time()
            result = await sweeps.sweep_runner(engine, timed)(jobs.Job(
                id=new_id(), kind=SWEEP_JOB, tenant_id=tenant, payload={"trigger": "sweep"}, attempts=1,
                max_attempts=1))
            elapsed = time.perf_counter() - sweep_started
            assert result is not None
            print(f"{label}: {len(timed.seconds)} chunks, slowest {max(timed.seconds):.1f} s, "
                  f"benchmark process CPU {time.process_time() - cpu_started:.1f} s")
            runs.append((label, elapsed, result))
        with psycopg.connect(plain, autocommit=True) as conn:
            events = conn.execute("SELECT count(*) FROM control.outbox WHERE tenant_id = %s", (tenant,)).fetchone()
        await engine.dispose()

        print(f"\nload average at the end: {os.getloadavg()}")
        print(f"rules: {', '.join(f'{n} ({c:,} match)' for (n, _), c in zip(RULES, counts, strict=True))}")
        print(f"baseline (bare count of each rule's matches): {baseline:.1f} s")
        for label, elapsed, result in runs:
            print(f"{label}: {elapsed:.1f} s, applied {result['applied']:,}, removed {result['removed']:,}")
        print(f"tag.applied events in the outbox: {events[0] if events else 0:,}")
        ok = all(elapsed <= 60 for _, elapsed, _ in runs) and runs[0][2]["applied"] == sum(counts)
        print(f"target (sweep over {args.customers:,} customers <= 60 s, every match tagged once): "
              f"{'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop our Postgres on the way out
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
