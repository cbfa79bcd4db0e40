"""A report export's raw records read from ClickHouse and written (issue 15, "Exports": 1,000,000
rows to CSV or XLSX in <= 60 s with memory <= 500 MiB): the export job's own steps — the report
run (`engine.run`), its underlying rows (`engine.underlying_source`: one row per customer with
its lifetime value joined, under the viewer's scope) written by `write_report_file` in a worker
thread — for the rows' CSV and the XLSX, each in its own process (so the peak RSS is the export's
own, chDB included), on data as bench_report_pivot.py generates it, straight into chDB.

    nice -n 10 .venv/bin/python -m tests.bench.bench_report_export_rows --scale 1 \\
        --data /tmp/exportrows-data --compare /tmp/exportrows-old

`--data`: keep the generated chDB data there and reuse it on the next run (a million customers and
ten million orders take minutes to generate). `--compare ROOT`: also run the same steps with the
code of another checkout (e.g. `git archive main | tar -x -C ROOT`) on the same data in the same
run, and check its rows' CSV is byte for byte the one this checkout writes.

Printed per run: rows, wall seconds, CPU seconds of the process (`time.process_time`: every
thread, chDB's included, a figure the machine's other load barely moves) and the process's peak RSS
(VmHWM), with the RSS once chDB and the code are loaded ("opened") and each step's own peak: the
report's pivot (`engine.run`, bounded as the export job runs it where the code has `bounded`) and
the rows (the stream and the writer).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import inspect
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from crm_dev.infra import EmbeddedPostgres, free_port
from crm_platform import migrations
from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.main import ANALYTICS_TABLES, DEFINITION
from tests.bench.bench_dashboards import (
    TENANT,
    customers_sql,
    orders_sql,
    refill_derived,
    settle_orders,
    status_sql,
)

REPORT = {"object": "customers", "rows": [{"field": "industry"}], "column": {"field": "status"},
          "measures": [{"agg": "count"}, {"agg": "sum", "field": "lifetime_value"}]}
ROOT = Path(__file__).resolve().parents[2]
FORMATS = ("rows_csv", "xlsx")


def reset_peak() -> None:
    """Starts the process's VmHWM again from its current RSS (Linux: `clear_refs` 5), so each step's
    own peak is read; the process's peak is the largest of them."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def prepare(data: Path, scale: float) -> None:
    customers, orders = int(1_000_000 * scale), int(10_000_000 * scale)
    marker = data / f"loaded-{customers}-{orders}"
    if marker.exists():
        print(f"chDB: reusing {customers:,} customers, {orders:,} orders in {data}", flush=True)
        return
    if (data / "chdb").exists():
        raise SystemExit(f"{data / 'chdb'} holds other data: remove it or pick another --data")
    analytics = await ChdbAnalytics.open(data / "chdb")
    try:
        await ensure_schema(analytics, ANALYTICS_TABLES)
        started = time.monotonic()
        for sql in (customers_sql(customers), status_sql(), orders_sql(orders, customers)):
            await analytics._run(analytics._execute, sql)  # bench data, straight into the engine
        print(f"chDB: {customers:,} customers, {orders:,} orders loaded in {time.monotonic() - started:.1f} s",
              flush=True)
        await settle_orders(analytics)
        await refill_derived(analytics)  # the orders object reads orders_by_day
    finally:
        await analytics.close()
    marker.touch()


async def child(data: Path, service_url: str, fmt: str, out_path: Path) -> None:
    """One export in this process: what the export job does, timed."""
    from crm_platform.auth import Principal
    from crm_platform.db import create_engine, tenant_session
    from crm_reporting.reports import engine as report_engine
    from crm_reporting.reports.definition import check_definition
    from crm_reporting.reports.files.render import write_report_file

    analytics = await ChdbAnalytics.open(data / "chdb")
    engine = create_engine(service_url, pool_size=2)
    try:
        principal = Principal(subject="bench", tenant_id=TENANT, client_id="bench",
                              user_id=uuid.UUID(int=7), scopes=frozenset({"reports:read"}))
        request = report_engine.RunRequest(check_definition(REPORT), title="Bench", time_zone="Asia/Shanghai")
        # As the export job runs it: its pivot bounded where the code has that (branch exportmem).
        bounded = {"bounded": True} if "bounded" in inspect.signature(report_engine.run).parameters else {}
        before_wall, before_cpu, before_peak = time.perf_counter(), time.process_time(), peak_mib()
        reset_peak()
        async with tenant_session(engine, TENANT) as session:
            result = await report_engine.run(analytics, session, principal, request, **bounded)
            after_run = peak_mib()
            reset_peak()
            underlying, source = await report_engine.underlying_source(analytics, session, principal, request)

        def write() -> int:
            with out_path.open("wb") as out:
                return write_report_file(fmt, result, underlying, out, source=source)  # type: ignore[arg-type]

        count = await asyncio.to_thread(write)
        wall, used = time.perf_counter() - before_wall, time.process_time() - before_cpu
        size = (await asyncio.to_thread(out_path.stat)).st_size
        rows_peak = peak_mib()
        print(json.dumps({"rows": count, "wall": wall, "cpu": used, "peak": max(before_peak, after_run, rows_peak),
                          "before": before_peak, "run": after_run, "rows_peak": rows_peak, "size": size,
                          "code": report_engine.__file__}), flush=True)
    finally:
        await engine.dispose()
        await analytics.close()


def run_child(code_root: Path, data: Path, service_url: str, fmt: str, out_path: Path) -> dict[str, object]:
    python = code_root / ".venv" / "bin" / "python"
    env = dict(os.environ)
    if code_root != ROOT:  # another checkout's packages first, this bench's helpers after
        python = ROOT / ".venv" / "bin" / "python"
        where = ["libs/crm_platform", "libs/crm_proto", "libs/crm_dev", "services/reporting"]
        env["PYTHONPATH"] = os.pathsep.join([*(str(code_root / w) for w in where), str(ROOT)])
    done = subprocess.run([str(python), "-m", "tests.bench.bench_report_export_rows", "--child", fmt,
                           "--data", str(data), "--service-url", service_url, "--out", str(out_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{code_root} {fmt} failed:\n{done.stdout}\n{done.stderr}")
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()[:16]


async def main_async(scale: float, data: Path | None, compare: Path | None, formats: list[str]) -> None:
    data = data or Path(tempfile.mkdtemp(prefix="bench-export-rows-"))
    data.mkdir(parents=True, exist_ok=True)
    await prepare(data, scale)
    base = Path(tempfile.mkdtemp(prefix="bench-export-rows-pg-"))
    postgres = EmbeddedPostgres(base / "pg", free_port(), base / "postgres.log")
    postgres.start()
    try:
        postgres.create_database("bench")
        service_url = postgres.url("bench")
        migrations.upgrade_control(service_url, DEFINITION.control_tree)
        migrations.upgrade_tenant(service_url, DEFINITION.tenant_tree, TENANT)
        print(f"load average at start: {os.getloadavg()}", flush=True)
        print(f"\n{'code':10} {'format':9} {'rows':>9} {'wall s':>7} {'CPU s':>7} {'peak RSS MiB':>13} "
              f"{'(opened / pivot / rows)':>27} {'file MiB':>9}  sha256", flush=True)
        checkouts = [("this", ROOT), *([("compare", compare)] if compare is not None else [])]
        digests: dict[tuple[str, str], str] = {}
        for fmt in formats:
            for name, code_root in checkouts:
                out_path = base / f"{name}.{fmt}"
                found = run_child(code_root, data, service_url, fmt, out_path)
                digests[name, fmt] = digest(out_path)
                print(f"{name:10} {fmt:9} {found['rows']:9,d} {found['wall']:7.1f} {found['cpu']:7.1f} "
                      f"{found['peak']:13.0f} {found['before']:10.0f} / {found.get('run', 0):5.0f} / "
                      f"{found.get('rows_peak', 0):5.0f} "
                      f"{found['size'] / 2**20:9.1f}  {digests[name, fmt]}  "
                      f"(load {os.getloadavg()[0]:.1f})", flush=True)
                out_path.unlink()
        if compare is not None and "rows_csv" in formats:
            same = digests["this", "rows_csv"] == digests["compare", "rows_csv"]
            print(f"\nrows' CSV identical to the compared checkout's: {same}", flush=True)
    finally:
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.1,
                        help="1.0 = 1,000,000 customers and 10,000,000 orders; 0.1 = a tenth")
    parser.add_argument("--data", type=Path, help="keep (and reuse) the generated chDB data here")
    parser.add_argument("--compare", type=Path, help="another checkout to run on the same data")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--child", choices=FORMATS, help=argparse.SUPPRESS)
    parser.add_argument("--service-url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.data, args.service_url, args.child, args.out))
    else:
        asyncio.run(main_async(args.scale, args.data, args.compare, args.formats))


if __name__ == "__main__":
    main()
