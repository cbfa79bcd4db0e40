"""Report files benchmark (issue 15, "Exports"): N generated underlying rows (7 columns: name,
region, tier, status, spend as Decimal, orders, a time with a zone) streamed into the CSV of the
underlying rows and into the XLSX (report sheet, the rows as an Excel Table, the native PivotTable,
the chart), each format in its own process so its peak memory (VmHWM, the process's high-water
mark of resident memory) is its own; the process's CPU time is printed next to the wall time, as
the honest figure on a shared machine. Rows are made as they are read, as a database cursor gives
them. Targets: 1,000,000 rows in <= 60 s with <= 500 MiB.

    .venv/bin/python tests/bench/bench_report_files.py --rows 1000000
    .venv/bin/python tests/bench/bench_report_files.py --rows 200000 --formats xlsx"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from crm_reporting.reports.files.csv_files import rows_csv
from crm_reporting.reports.files.xlsx_file import PivotSource, write_xlsx
from crm_reporting.reports.result import Dimension, Measure, PivotCell, PivotResult, UnderlyingRows

COLUMNS = ["客户", "地区", "等级", "状态", "年消费额", "订单数", "创建时间"]
REGIONS = ["华东", "华北", "华南"]


def rows(count: int) -> Iterator[list[object]]:
    base = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    for i in range(count):
        yield [f"客户{i}", REGIONS[i % 3], "AB"[i % 2], "赢单" if i % 3 else "输单",
               Decimal(i % 10_000) / 4, i % 17, datetime.fromtimestamp(base + i * 37, UTC)]


def pivot() -> PivotResult:
    cells = [PivotCell((r, t), None, (1000, Decimal("12345.67"))) for r in REGIONS for t in "AB"]
    cells += [PivotCell((r, None), None, (2000, Decimal("24691.34"))) for r in REGIONS]
    cells.append(PivotCell((None, None), None, (6000, Decimal("74074.02"))))
    return PivotResult(
        title="基准报表", rows=(Dimension("region", "地区"), Dimension("tier", "等级")), column=None,
        measures=(Measure("count", "客户数", "count"), Measure("sum:annual_spend", "年消费额（合计）", "money", "CNY")),
        cells=tuple(cells), chart="bar", locale="zh-CN", time_zone="Asia/Shanghai",
    )


def peak_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(fmt: str, count: int, out: multiprocessing.Queue) -> None:
    underlying = UnderlyingRows(COLUMNS, rows(count))
    with tempfile.TemporaryFile() as handle:
        started = time.perf_counter()
        if fmt == "csv":
            for chunk in rows_csv(underlying, "Asia/Shanghai"):
                handle.write(chunk)
        else:
            source = PivotSource(rows=(1, 2), column=3, values=((0, "count", "客户数"), (4, "sum", "年消费额（合计）")))
            write_xlsx(pivot(), underlying, handle, source=source)
        elapsed = time.perf_counter() - started
        size = handle.tell()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((fmt, elapsed, usage.ru_utime + usage.ru_stime, size, peak_mib()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()
    print(f"report files: {args.rows:,} underlying rows, 7 columns; {os.cpu_count()} cpus, "
          f"load {os.getloadavg()[0]:.1f}")
    context = multiprocessing.get_context("spawn")
    for fmt in args.formats.split(","):
        queue = context.Queue()
        process = context.Process(target=run, args=(fmt, args.rows, queue))
        process.start()
        name, elapsed, cpu, size, peak = queue.get()
        process.join()
        verdict = "ok" if elapsed <= 60 * args.rows / 1_000_000 and peak <= 500 else "OVER TARGET"
        print(f"{name:5} {elapsed:7.1f} s wall ({cpu:6.1f} s cpu)  {args.rows / elapsed:10,.0f} rows/s  "
              f"{size / 2**20:8.1f} MiB file  peak {peak:6.1f} MiB  ({verdict}; load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
