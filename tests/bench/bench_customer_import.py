"""Customer import benchmark (issue 13, P1): a generated N-row customer file (1% bad rows: missing
names, bad mobiles, bad emails; 10% with a resident ID, which is sealed; repeated mobiles), run end
to end through the real import (crm_customers/importing: upload in parts, the dry run job, the
import job with validation, duplicate checks, codes, encryption, match keys, COPY and one outbox
event per batch) in a fresh embedded PostgreSQL, printed next to a raw `COPY` of the same file
into a table of text columns in the same run. Peak memory is the importing process's own (VmHWM).

    .venv/bin/python tests/bench/bench_customer_import.py --rows 1000000
    .venv/bin/python tests/bench/bench_customer_import.py --rows 1000000 --format xlsx
    .venv/bin/python tests/bench/bench_customer_import.py --rows 20000 --floor   # PostgreSQL's own floor

The events reach NATS through the outbox relay like any other; this benchmark counts the outbox
rows the import wrote (publishing is the relay's, measured in docs/benchmarks.md elsewhere)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import multiprocessing
import os
import queue as queue_module
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

from crm_customers.customer.checksums import resident_id_check_char
from crm_platform.ids import tenant_schema

HEADER = ["客户名称", "联系人", "手机号码", "邮箱", "首次接触时间", "所属行业", "客户类型", "身份证号", "备注"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌波辉宇浩凯健俊帆帅旭宁欣悦琳晨雪梅颖婷"
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "苏州", "成都", "武汉", "西安", "厦门", "青岛", "宁波",
          "长沙"]
TRADES = ["科技", "贸易", "电子", "信息技术", "网络科技", "餐饮管理", "建筑工程", "物流", "医药", "文化传媒"]
INDUSTRIES = ["IT", "金融", "制造业", "零售", "教育", "物流"]
MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "158", "159", "186", "188"]


def resident_id(n: int) -> str:
    """A valid, distinct resident ID number per n (area, birth date, sequence, check character)."""
    born = date(1950, 1, 1) + timedelta(days=n % 20000)
    first17 = f"110105{born:%Y%m%d}{n // 20000 % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def rows(count: int, seed: int) -> Any:
    """The file's rows: realistic company names, unique mobiles; every 100th row is bad."""
    rnd = random.Random(seed)
    for n in range(count):
        city, trade = rnd.choice(CITIES), rnd.choice(TRADES)
        name = f"{city}{SURNAMES[n % len(SURNAMES)]}{GIVEN[(n // 7) % len(GIVEN)]}{trade}有限公司{n}"
        contact = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
        mobile = f"{MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]}{n:08d}"
        email = f"user{n}@example{n % 50}.cn" if n % 3 == 0 else ""
        resident = resident_id(n) if n % 10 == 0 else ""
        kind = rnd.randrange(100)
        if kind == 1:
            name = ""
        elif kind == 2:
            mobile = "12345"
        elif kind == 3:
            email = "not-an-email@"
        elif kind == 4 and n > 10:
            mobile = f"{MOBILE_PREFIXES[(n - 10) % len(MOBILE_PREFIXES)]}{n - 10:08d}"  # a repeated mobile
        yield [name, contact, mobile, email, f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
               INDUSTRIES[n % len(INDUSTRIES)], "企业", resident, "展会获客"]


def write_csv(path: Path, count: int, seed: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as target:
        writer = csv.writer(target, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed))


def write_xlsx(path: Path, count: int, seed: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in rows(count, seed):
        sheet.append(row)
    book.save(str(path))


def raw_copy(conninfo: str, path: Path) -> float:
    """The baseline: the same CSV into a table of text columns with COPY, nothing checked."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS public.raw_import")
        connection.execute("CREATE TABLE public.raw_import (" + ", ".join(f"c{i} text" for i in range(len(HEADER)))
                           + ")")
        started = time.perf_counter()
        with connection.cursor() as cursor, cursor.copy(
                "COPY public.raw_import FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, path.open("rb") as source:
            while block := source.read(1 << 20):
                copy.write(block)
        return time.perf_counter() - started


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process, its waited-for children and its live children:
    for the postmaster, every backend's, ended ones included."""
    ticks = os.sysconf("SC_CLK_TCK")

    def own(p: int, *, waited: bool) -> float:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        used = int(fields[11]) + int(fields[12])  # utime, stime
        if waited:
            used += int(fields[13]) + int(fields[14])  # cutime, cstime
        return used / ticks

    children = Path(f"/proc/{pid}/task/{pid}/children")
    live = [int(c) for c in children.read_text().split()] if children.exists() else []
    return own(pid, waited=True) + sum(own(c, waited=False) for c in live)


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run_import(database_url: str, tenant_id: uuid.UUID, path: Path, user_id: uuid.UUID) -> dict[str, Any]:
    """Upload, dry run and import as the API and the job worker do them; seconds per phase."""
    import base64

    from crm_customers.importing.service import JOB_KIND, CustomerImports, ImportRunner
    from crm_customers.sensitive.keys import LocalKeyWrapper
    from crm_customers.sensitive.service import SensitiveFields
    from crm_platform import jobs
    from crm_platform.auth import Principal
    from crm_platform.db import create_engine, tenant_session

    sensitive = SensitiveFields(LocalKeyWrapper(base64.b64encode(b"b" * 32).decode()))
    imports = CustomerImports(sensitive)
    caller = Principal(tenant_id=tenant_id, subject=f"user:{user_id}", client_id="bench", user_id=user_id,
                       scopes=frozenset({"customers:read", "customers:write", "customers:admin"}), data_scope="all")
    engine = create_engine(database_url, pool_size=4)
    size = path.stat().st_size  # noqa: ASYNC240  (once, before anything runs)
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}  # the importing process's own, per job
    try:
        started = time.perf_counter()
        async with tenant_session(engine, tenant_id) as session:
            row = await imports.create(session, caller, path.name, size)
        with path.open("rb") as source:
            seq = 0
            while part := source.read(4 * 1024 * 1024):
                async with tenant_session(engine, tenant_id) as session:
                    await imports.append(session, caller, str(row.id), seq, part)
                seq += 1
        async with tenant_session(engine, tenant_id) as session:
            await imports.finish_upload(session, caller, str(row.id), {}, "skip")
        seconds["upload"] = time.perf_counter() - started

        job_results: list[dict[str, Any]] = []

        async def run_jobs() -> None:
            for job in await jobs.claim(engine, [JOB_KIND], 1, timedelta(minutes=30)):
                job_results.append(await ImportRunner(engine, sensitive)(job))
                await jobs.complete(engine, job.id, job_results[-1])

        started, cpu = time.perf_counter(), time.process_time()
        await run_jobs()
        seconds["dry run"] = time.perf_counter() - started
        cpu_seconds["dry run"] = time.process_time() - cpu
        async with tenant_session(engine, tenant_id) as session:
            await imports.start(session, caller, str(row.id), "skip")
        started, cpu = time.perf_counter(), time.process_time()
        await run_jobs()
        seconds["import"] = time.perf_counter() - started
        cpu_seconds["import"] = time.process_time() - cpu
        async with tenant_session(engine, tenant_id) as session:
            done = await imports.get(session, caller, str(row.id))
    finally:
        await engine.dispose()
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "status": done.status, "total": done.total_rows,
            "errors": done.error_rows,
            "duplicates": done.duplicate_rows, "created": done.created_count, "skipped": done.skipped_count,
            # Whether the import went through the dry run's kept checked rows (not the file again).
            "kept_rows": bool(job_results[-1].get("kept_rows"))}


def _child(database_url: str, tenant_id: str, path: str, user_id: str, queue: Any) -> None:
    result = asyncio.run(run_import(database_url, uuid.UUID(tenant_id), Path(path), uuid.UUID(user_id)))
    result["peak_mib"] = _peak_rss_mib()
    used = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = used.ru_utime + used.ru_stime
    queue.put(result)


def import_in_child(database_url: str, tenant_id: uuid.UUID, path: Path, user_id: uuid.UUID) -> dict[str, Any]:
    """In a fresh process, so its peak memory is the import's own (plus the interpreter)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(database_url, str(tenant_id), str(path), str(user_id), queue))
    process.start()
    try:
        while True:  # a timed wait, so that SIGTERM (sys.exit) gets through and stops the child too
            try:
                result: dict[str, Any] = queue.get(timeout=1)
                break
            except queue_module.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"the import process ended with {process.exitcode}") from None
        process.join()
    finally:
        if process.is_alive():
            process.terminate()
    return result


def _backend_cpu(connection: psycopg.Connection[Any]) -> float:
    pid = (connection.execute("SELECT pg_backend_pid()").fetchone() or (0,))[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def schema_floor(conninfo: str, schema: str, breakdown: bool) -> tuple[float, float, int, list[tuple[str, float]]]:
    """What PostgreSQL alone spends storing customers with this schema: the imported rows copied
    into `customers` once more (new id, code and distinct keys), through every index and trigger,
    in one INSERT ... SELECT; no import can write these rows for less (the backend's own CPU).
    With `breakdown`, the same insert once per index and per trigger with that one dropped (and
    rolled back), so each one's share shows (needs a quiet machine to mean anything)."""
    with psycopg.connect(conninfo) as connection:
        connection.execute(f'SET search_path TO "{schema}", public')
        connection.execute("CREATE TEMP TABLE floor_rows AS SELECT * FROM customers")
        columns = [r[0] for r in connection.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = "
            "'customers' AND is_generated = 'NEVER' ORDER BY ordinal_position", (schema,))]
        connection.execute("UPDATE floor_rows SET id = gen_random_uuid(), code = code || 'F'")
        connection.commit()
        listed = ", ".join(f'"{c}"' for c in columns)
        insert = f"INSERT INTO customers ({listed}) SELECT {listed} FROM floor_rows"

        def timed(prepare: str | None) -> tuple[float, float, int]:
            if prepare:
                connection.execute(prepare)
            cpu, started = _backend_cpu(connection), time.perf_counter()
            copied = connection.execute(insert).rowcount
            used = _backend_cpu(connection) - cpu, time.perf_counter() - started, copied
            connection.rollback()
            # The rolled-back rows stay behind as dead tuples and index entries until vacuumed, and
            # would make each later insert dearer than the one before.
            connection.autocommit = True
            connection.execute(f'VACUUM "{schema}".customers, "{schema}".customer_facts')
            connection.autocommit = False
            connection.execute(f'SET search_path TO "{schema}", public')
            return used

        full_cpu, full_seconds, copied = timed(None)
        if not breakdown:
            return full_cpu, full_seconds, copied, []
        # CPU time inflates on a busy machine; each figure is the lower of two runs, and the full
        # insert is measured again at the end (its lower run is the reference).
        full_cpu = min(full_cpu, timed(None)[0])
        indexes = [r[0] for r in connection.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'customers' "
            "AND indexname <> 'customers_pkey'", (schema,))]
        triggers = [r[0] for r in connection.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            (f'"{schema}".customers',))]
        variants = [(f"index {name}", f'DROP INDEX "{schema}"."{name}"') for name in indexes]
        variants += [(f"trigger {name}", f'ALTER TABLE customers DISABLE TRIGGER "{name}"') for name in triggers]
        without = {label: min(timed(prepare)[0], timed(prepare)[0]) for label, prepare in variants}
        full_cpu = min(full_cpu, timed(None)[0])
        shares = [(label, full_cpu - cpu) for label, cpu in without.items()]
        shares.sort(key=lambda share: -share[1])
        return full_cpu, full_seconds, copied, shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--profile", action="store_true", help="run the import under cProfile (slower)")
    parser.add_argument("--floor", action="store_true",
                        help="afterwards, time PostgreSQL alone storing the imported rows again (the schema's floor)")
    parser.add_argument("--floor-breakdown", action="store_true",
                        help="with --floor: each index's and trigger's share of it (slow; a quiet machine)")
    args = parser.parse_args()

    from crm_customers.main import DEFINITION
    from crm_dev.infra import EmbeddedPostgres, free_port
    from crm_platform import migrations

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops Postgres
    base = Path(tempfile.mkdtemp(prefix="bench-import-"))
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("crm_customers")
        url = postgres.url("crm_customers")
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        migrations.upgrade_control(url, DEFINITION.control_tree)
        tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
        migrations.upgrade_tenant(url, DEFINITION.tenant_tree, tenant_id)
        with psycopg.connect(conninfo, autocommit=True) as connection:  # the importer, as identity announced them
            connection.execute(f'INSERT INTO "{tenant_schema(tenant_id)}".user_teams (user_id, version, display_name) '
                               "VALUES (%s, 1, 'Bench')", (user_id,))

        csv_path = base / "customers.csv"
        started = time.perf_counter()
        write_csv(csv_path, args.rows, args.seed)
        print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 2**20:.0f} MiB CSV) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        path = csv_path
        if args.format == "xlsx":
            path = base / "customers.xlsx"
            started = time.perf_counter()
            write_xlsx(path, args.rows, args.seed)
            print(f"wrote the same rows as XLSX ({path.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        postmaster = postgres.process.pid if postgres.process is not None else 0
        copy_cpu = _cpu_seconds(postmaster)
        copy_seconds = raw_copy(conninfo, csv_path)
        copy_cpu = _cpu_seconds(postmaster) - copy_cpu
        print(f"raw COPY of the CSV: {copy_seconds:.1f} s", flush=True)
        load_before = os.getloadavg()
        pg_cpu = _cpu_seconds(postmaster)
        if args.profile:  # in this process, under cProfile: where the import's own time goes
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(asyncio.run, run_import(url, tenant_id, path, user_id))
            result["peak_mib"] = _peak_rss_mib()
            result["cpu_s"] = float("nan")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        else:
            result = import_in_child(url, tenant_id, path, user_id)
        pg_cpu = _cpu_seconds(postmaster) - pg_cpu
        load_after = os.getloadavg()
        print(f"import: {result}", flush=True)
        with psycopg.connect(conninfo) as connection:
            schema = tenant_schema(tenant_id)
            stored = connection.execute(
                f'SELECT count(*), count(resident_id_enc) FROM "{schema}".customers').fetchone() or (0, 0)
            events = (connection.execute("SELECT count(*) FROM control.outbox WHERE subject LIKE %s",
                                         ("%.customer.imported",)).fetchone() or (0,))[0]
        phases = result["seconds"]
        total = sum(phases.values())
        print()
        print(f"| run | rows | end to end | {' | '.join(phases)} | rows/s | raw COPY | COPY / import | peak MiB "
              "| created | errors | duplicates | sealed IDs | events |")
        print("| --- " * (12 + len(phases)) + "|")
        print(f"| {args.format} import | {args.rows:,} | {total:.1f} s | "
              + " | ".join(f"{v:.1f} s" for v in phases.values())
              + f" | {args.rows / total:,.0f} | {copy_seconds:.1f} s | 1/{total / copy_seconds:.0f} | "
              f"{result['peak_mib']:.0f} | {result['created']:,} | {result['errors']:,} | {result['duplicates']:,} | "
              f"{stored[1]:,} | {events:,} |")
        per = 100_000 / args.rows
        print(f"\nload average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after the import; CPU seconds "
              f"per 100k rows: import process {result['cpu_s'] * per:.1f} s + PostgreSQL {pg_cpu * per:.1f} s "
              f"(raw COPY: PostgreSQL {copy_cpu * per:.2f} s); the import process's own per job: "
              + ", ".join(f"{k} {v * per:.1f} s" for k, v in result["cpu_seconds"].items()))
        assert result["status"] == "succeeded" and stored[0] == result["created"], result
        if args.floor:
            floor_cpu, floor_seconds, copied, shares = schema_floor(conninfo, tenant_schema(tenant_id),
                                                                    args.floor_breakdown)
            per_100k = 100_000 / max(copied, 1)
            print(f"\nschema floor: PostgreSQL stored the {copied:,} imported customers again (every index and "
                  f"trigger, no Python) in {floor_seconds:.1f} s, {floor_cpu * per_100k:.1f} CPU s per 100k rows; "
                  f"at that rate 1,000,000 rows take {floor_cpu * per_100k * 10:.0f} CPU s.")
            if shares:
                print("Each index's and trigger's share (CPU s per 100k rows saved without it):")
            for name, saved in shares:
                print(f"  {saved * per_100k:6.2f}  {name}")
        sys.stdout.flush()
    finally:
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
