"""API benchmark (issue 9 §6, issue 13 P2): the public API's hot paths over HTTP against the
whole platform, each next to a bare FastAPI -> grpc.aio hop measured in the same run.

    .venv/bin/python tests/bench/bench_api.py                      # 15 s per scenario
    .venv/bin/python tests/bench/bench_api.py --duration 5 --customers 300   # a quick check

Starts the platform as the test suite does (crm_dev.platform.Platform: embedded PostgreSQL, NATS,
six services, the gateway; rate limits raised out of the way), the bare hop (tests/bench/hop.py:
served with the gateway's uvicorn options and worker count, its servicer on the services' event
loop), signs up a tenant, seeds `--customers` customers over REST, then drives load with wrk
(Debian package `wrk`; installed with apt-get when missing and possible, else a slower Python load
generator is used and the output says so) through Lua scripts that add the bearer token, pick
random ids, and build bodies with realistic Chinese company names and valid mobiles:

    hop            GET /hop/{id}                    (first and last: the ratio uses their mean)
    get            GET /v1/customers/{random id}
    list           GET /v1/customers?page_size=50
    create         POST /v1/customers               (each with its own Idempotency-Key)
    patch          PATCH /v1/customers/{id}         (If-Match from the last version seen)
    batch          POST /v1/orders:batch-upsert     1,000 new orders, seconds per batch

For each: requests/s, p50/p95/p99 latency, errors, and the ratio to the hop. The load average
is printed with each figure: on a shared machine the ratios are what to compare.
`--profile DIR` records py-spy flame graphs of the gateway and customers processes during every
scenario (py-spy must be installed: it is in the dev extras).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg

from crm_dev.api_client import ApiClient
from crm_dev.infra import free_port, wait_for_port
from crm_dev.platform import Platform
from crm_dev.seed import CITY_PREFIX, KINDS, MOBILE_PREFIXES, SUFFIXES, demo_customers

ROOT: Final = Path(__file__).resolve().parents[2]
SCOPES: Final = ["customers:read", "customers:write", "orders:read", "orders:write"]
# Far above what the benchmark sends: it measures the work, not the limiter's refusals.
NO_RATE_LIMITS: Final = {
    "CRM_GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "1000000", "CRM_GATEWAY_RATE_LIMIT_CLIENT_BURST": "1000000",
    "CRM_GATEWAY_RATE_LIMIT_TENANT_PER_SECOND": "1000000", "CRM_GATEWAY_RATE_LIMIT_TENANT_BURST": "1000000",
}
# Brand syllables for generated company names: 60 x 60 brands x cities x trades x legal forms.
BRAND_CHARS: Final = ("华信星辰云帆锦程博远恒通瑞丰天成宏图创新智联中科金桥汇丰安泰鼎盛卓越腾达众合新元"
                      "海纳百川嘉禾明德润泽凯旋永泰东方长城远景佳源银河九州同心广厦启明欣荣聚力兴业盛世")
BATCH_SIZE: Final = 1000
TARGETS: Final = {"get": 0.5, "list": 0.25}
# Seconds of no load before each scenario, to measure the platform's background CPU (see Load.run).
IDLE_SAMPLE_SECONDS: Final = 5.0


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    errors: int
    load_average: float
    note: str = ""
    ratio: float | None = None
    # Process group -> CPU milliseconds per request during the measured run.
    cpu_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class Setup:
    platform: Platform
    hop_url: str
    api: ApiClient
    client_id: str
    client_secret: str
    customer_ids: list[str] = field(default_factory=list)

    def token(self) -> str:
        """A fresh client-credentials token (they live 15 minutes; a full run takes longer)."""
        return self.api.client_credentials(self.client_id, self.client_secret)


# -- CPU accounting ----------------------------------------------------------------------------------
# Wall-clock figures swing with whatever else runs on the machine; the CPU time each process spends
# per request does much less, so it is printed next to them (from /proc, with every descendant).

CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and its reaped children)."""
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        table[int(entry.name)] = (int(fields[1]), ticks / CLOCK_TICKS)
    return table


def cpu_seconds(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each group of process trees."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    out: dict[str, float] = {}
    for name, roots in groups.items():
        total, stack = 0.0, list(roots)
        while stack:
            pid = stack.pop()
            total += table.get(pid, (0, 0.0))[1]
            stack += children.get(pid, [])
        out[name] = total
    return out


def settle(groups: dict[str, list[int]], timeout: float = 180.0, idle_cores: float = 0.15) -> float:
    """Waits until the platform is nearly idle (event consumers have caught up with what the last
    scenario wrote), so no scenario pays for the one before it. Returns the seconds waited."""
    started = time.monotonic()
    platform = {k: v for k, v in groups.items() if k != "hop"}
    quiet = 0
    last = sum(cpu_seconds(platform).values())
    while time.monotonic() - started < timeout and quiet < 2:
        time.sleep(1.0)
        now = sum(cpu_seconds(platform).values())
        quiet = quiet + 1 if now - last < idle_cores else 0
        last = now
    return time.monotonic() - started


# -- load generation ---------------------------------------------------------------------------------


def lua_list(values: list[str]) -> str:
    return "{" + ",".join(json.dumps(v, ensure_ascii=False) for v in values) + "}"


LUA_COMMON: Final = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
first_error = nil
-- wrk.format uses the headers it is given instead of wrk.headers, not on top of them.
function with_defaults()
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return headers
end
function record(status, body)
  if status >= 400 and first_error == nil then first_error = status .. " " .. string.sub(body, 1, 400) end
end
function response(status, headers, body)
  record(status, body)
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local seen = thread:get("first_error")
    if seen then io.write("WRK_FIRST_ERROR " .. seen .. "\n") break end
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "errors": %d, "status_errors": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""

LUA_NAMES: Final = r"""
local cities = %(cities)s
local brand_chars = %(brand_chars)s
local kinds = %(kinds)s
local suffixes = %(suffixes)s
local mobile_prefixes = %(mobile_prefixes)s
local function pick(list) return list[math.random(#list)] end
local function company_name()
  return pick(cities) .. pick(brand_chars) .. pick(brand_chars) .. pick(kinds) .. pick(suffixes)
end
local function mobile()
  return pick(mobile_prefixes) .. string.format("%%08d", math.random(0, 99999999))
end
"""


def names_lua() -> str:
    # Characters one by one (UTF-8 safe: Lua strings are bytes, so split in Python).
    return LUA_NAMES % {
        "cities": lua_list(CITY_PREFIX), "brand_chars": lua_list(list(BRAND_CHARS)), "kinds": lua_list(KINDS),
        "suffixes": lua_list(SUFFIXES), "mobile_prefixes": lua_list(MOBILE_PREFIXES),
    }


def get_script(token: str, ids: list[str], path: str) -> str:
    return LUA_COMMON + f"""
local ids = {lua_list(ids)}
function init(args)
  math.randomseed(os.time() + tid * 7919)
  wrk.headers["Authorization"] = "Bearer {token}"
end
function request()
  return wrk.format("GET", "{path}" .. ids[math.random(#ids)])
end
"""


def fixed_script(token: str, path: str) -> str:
    return LUA_COMMON + f"""
function init(args)
  wrk.headers["Authorization"] = "Bearer {token}"
end
function request()
  return wrk.format("GET", "{path}")
end
"""


def create_script(token: str) -> str:
    return LUA_COMMON + names_lua() + f"""
local run = tostring(os.time())
function init(args)
  math.randomseed(os.time() + tid * 7919)
  wrk.headers["Authorization"] = "Bearer {token}"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  counter = counter + 1
  local body = '{{"name":"' .. company_name() .. '","mobile":"' .. mobile() .. '","industry":"IT",'
    .. '"region":"华东/上海","contact_person":"王伟","email":"c' .. tid .. '-' .. counter .. '-' .. run
    .. '@example.cn"}}'
  local headers = with_defaults()
  headers["Idempotency-Key"] = "bench-" .. run .. "-" .. tid .. "-" .. counter
  return wrk.format("POST", "/v1/customers", headers, body)
end
"""


def patch_script(token: str, versions: dict[str, int], threads: int) -> str:
    """Each wrk thread updates its own share of the customers in turn (no two threads touch one),
    sending the version it last saw in If-Match; a 412 would count as an error."""
    ids = list(versions)
    return LUA_COMMON + names_lua() + f"""
local all_ids = {lua_list(ids)}
local all_versions = {{{",".join(str(versions[i]) for i in ids)}}}
local mine = {{}}
local version = {{}}
local next_index = 0
function init(args)
  math.randomseed(os.time() + tid * 7919)
  for i, id in ipairs(all_ids) do
    if (i - 1) % {threads} == tid then
      table.insert(mine, id)
      version[id] = all_versions[i]
    end
  end
  wrk.headers["Authorization"] = "Bearer {token}"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  next_index = next_index %% #mine + 1
  local id = mine[next_index]
  local headers = with_defaults()
  headers["If-Match"] = 'W/"' .. version[id] .. '"'
  local body = '{{"mobile":"' .. mobile() .. '","notes":"回访 ' .. math.random(1, 1000000) .. '"}}'
  return wrk.format("PATCH", "/v1/customers/" .. id, headers, body)
end
function response(status, headers, body)
  record(status, body)
  if status == 200 then
    local id = string.match(body, '"id":"([^"]+)"')
    local v = string.match(body, '"version":(%d+)')
    if id and v and version[id] then version[id] = tonumber(v) end
  end
end
""".replace("%%", "%")


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: installing the Debian package with apt-get", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, stdout=subprocess.DEVNULL)
        return shutil.which("wrk")
    return None


@dataclass
class Load:
    wrk: str | None
    threads: int
    duration: float
    warmup: float
    work_dir: Path
    profile_dir: Path | None = None
    profiled: dict[str, int] = field(default_factory=dict)
    # Process group -> root pids whose CPU time is accounted per request.
    accounted: dict[str, list[int]] = field(default_factory=dict)
    # Longest wait for the platform to go idle before a scenario (on a busy machine it may never).
    settle_timeout: float = 180.0
    # Called before each measured run (after the warm-up): groups whose processes change (the PostgreSQL backends of one
    # database, see database_backends), merged into `accounted`.
    refresh: Callable[[], dict[str, list[int]]] | None = None

    def run(self, name: str, base_url: str, script: str, connections: int) -> Result:
        path = self.work_dir / f"{name}.lua"
        path.write_text(script)
        if self.accounted:
            waited = settle(self.accounted, self.settle_timeout)
            if waited > 3:
                print(f"  waited {waited:.0f} s for the platform to go idle before {name}", flush=True)
        idle = self._idle_cpu_rate()
        if self.warmup > 0:
            self._wrk(base_url, path, connections, self.warmup)
        load_average = os.getloadavg()[0]
        if self.refresh is not None:  # after the warm-up, which opens the pools' connections
            self.accounted = {**self.accounted, **self.refresh()}
        before = cpu_seconds(self.accounted)
        started = time.monotonic()
        with self._profiling(name):
            raw = self._wrk(base_url, path, connections, self.duration)
        after = cpu_seconds(self.accounted)
        elapsed = time.monotonic() - started
        requests = max(1, raw["requests"])
        result = Result(
            name=name, requests_per_second=raw["requests"] / (raw["duration_us"] / 1e6),
            p50_ms=raw["p50_us"] / 1000, p95_ms=raw["p95_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
            requests=raw["requests"], errors=raw["errors"], load_average=load_average,
            cpu_ms={k: 1000 * max(0.0, after[k] - before[k] - idle.get(k, 0.0) * elapsed) / requests for k in after},
        )
        print(f"  {name}: {result.requests_per_second:.0f} req/s, p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} ms, "
              f"{result.errors} errors, load {load_average:.1f}; CPU ms per request: "
              + ", ".join(f"{k} {v:.2f}" for k, v in result.cpu_ms.items() if v >= 0.01), flush=True)
        return result

    def _idle_cpu_rate(self, seconds: float = IDLE_SAMPLE_SECONDS) -> dict[str, float]:
        """CPU seconds per second each group spends with no load (pollers, relays, job claims):
        subtracted from a run's CPU, so a slow run's requests are not charged for the background
        work of its longer wall time."""
        if not self.accounted:
            return {}
        before = cpu_seconds(self.accounted)
        time.sleep(seconds)
        after = cpu_seconds(self.accounted)
        return {k: (after[k] - before[k]) / seconds for k in after}

    def _wrk(self, base_url: str, script: Path, connections: int, seconds: float) -> dict[str, Any]:
        if self.wrk is None:
            raise RuntimeError("wrk is not installed")
        command = [self.wrk, "-t", str(self.threads), "-c", str(connections), "-d", f"{seconds:g}s",
                   "--timeout", "10s", "-s", str(script), base_url]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            if line.startswith("WRK_FIRST_ERROR "):
                print(f"  first error response: {line.removeprefix('WRK_FIRST_ERROR ')}", flush=True)
            if line.startswith("WRK_RESULT "):
                return dict(json.loads(line.removeprefix("WRK_RESULT ")))
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")

    @contextmanager
    def _profiling(self, name: str) -> Iterator[None]:
        if self.profile_dir is None or not self.profiled:
            yield
            return
        spies = [
            subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses", "--nonblocking", "-r", "200",
                 "-d", str(int(self.duration)), "-f", "raw", "-o", str(self.profile_dir / f"{name}-{process}.txt"),
                 "-p", str(pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for process, pid in self.profiled.items()
        ]
        try:
            yield
        finally:
            for spy in spies:
                try:
                    spy.wait(timeout=60)
                except subprocess.TimeoutExpired:  # a starved machine: lose the profile, not the run
                    spy.kill()
                    spy.wait()


# -- platform, hop and seed --------------------------------------------------------------------------


def start_hop(work_dir: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    grpc_port, http_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRM_GATEWAY_WORKERS": str(workers), "PYTHONUNBUFFERED": "1"}
    log = open(work_dir / "hop.log", "ab")  # noqa: SIM115 - lives as long as the processes
    servicer = subprocess.Popen([sys.executable, "-m", "tests.bench.hop", "grpc", str(grpc_port)], cwd=ROOT,
                                env=env, stdout=log, stderr=log, start_new_session=True)
    started = [servicer]
    try:
        # Generous: on a loaded machine importing FastAPI in each worker takes more than a minute.
        wait_for_port(grpc_port, 240, servicer)
        front = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.hop", "http", str(http_port), f"127.0.0.1:{grpc_port}"], cwd=ROOT,
            env=env, stdout=log, stderr=log, start_new_session=True,
        )
        started.insert(0, front)
        wait_for_port(http_port, 240, front)
        url = f"http://127.0.0.1:{http_port}"
        httpx.get(f"{url}/hop/warm", timeout=10).raise_for_status()
    except BaseException:
        stop_processes(started)
        raise
    return url, started


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """Each process's whole group (uvicorn's worker processes too: they run in the group)."""
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def accounted_groups(platform: Platform, hop: list[subprocess.Popen[bytes]]) -> dict[str, list[int]]:
    def pid(process: subprocess.Popen[bytes] | None) -> list[int]:
        return [process.pid] if process is not None else []

    return {
        "hop": [p.pid for p in hop],
        "gateway": pid(platform.processes.get("gateway")),
        "customers": pid(platform.processes.get("customers")),
        "postgres": pid(platform.postgres.process),
        "nats": pid(platform.nats.process),
        **{name: pid(platform.processes.get(name))
           for name in ("identity", "tagging", "followups", "reporting", "webhooks")},
    }


def database_backends(platform: Platform, database: str) -> Callable[[], dict[str, list[int]]]:
    """The PostgreSQL backends connected to one database, as a group of its own (`postgres` counts
    every database's, the event consumers' included): `pg:<database>`, nothing subtracted for idle.
    The backends of a run are those there when it starts (a pool's connections are open after the
    warm-up; one opened during the run is counted under `postgres` only, so this is a lower bound)."""
    def backends() -> dict[str, list[int]]:
        with psycopg.connect(platform.postgres.url(database, driver="postgresql"), autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                                (database,)).fetchall()
        return {f"pg:{database.removeprefix('crm_')}": [int(r[0]) for r in rows]}
    return backends


def sign_up(api: ApiClient) -> tuple[str, Any]:
    """A new tenant (retried: provisioning every service can pass the gateway's deadline on a busy machine)."""
    for attempt in range(5):
        slug = f"bench-{uuid.uuid4().hex[:6]}"
        try:
            return slug, api.signup(slug)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 503 or attempt == 4:
                raise
    raise AssertionError("unreachable")


def seed_customers(setup: Setup, count: int) -> None:
    token = setup.token()
    rows = demo_customers(count, seed=int(time.time()))

    def create(row: dict[str, Any]) -> str:
        with httpx.Client(base_url=setup.platform.gateway_url, timeout=60) as http:
            for _ in range(5):  # a loaded machine can exceed the gateway's deadline (503): retry
                reply = http.post("/v1/customers", json=row, headers={"Authorization": f"Bearer {token}"})
                if reply.status_code != 503:
                    break
            reply.raise_for_status()
            return str(reply.json()["id"])

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        setup.customer_ids = list(pool.map(create, rows))
    seconds = time.monotonic() - started
    print(f"seeded {count} customers over REST in {seconds:.1f} s ({count / seconds:.0f}/s, 8 threads)", flush=True)


def current_versions(setup: Setup, token: str) -> dict[str, int]:
    wanted = set(setup.customer_ids)
    versions: dict[str, int] = {}
    page_token = ""
    with httpx.Client(base_url=setup.platform.gateway_url, timeout=60,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            reply = http.get("/v1/customers", params={"page_size": 500, "page_token": page_token})
            reply.raise_for_status()
            body = reply.json()
            versions |= {c["id"]: c["version"] for c in body["items"] if c["id"] in wanted}
            page_token = body.get("next_page_token") or ""
            if not page_token:
                return versions


def batch_body(customer_ids: list[str], run: str) -> dict[str, Any]:
    rng = random.Random(run)
    today = date.today()
    orders = []
    for index in range(BATCH_SIZE):
        quantity = rng.randint(1, 20)
        price = rng.randint(100, 100_000) / 100
        orders.append({
            "external_id": f"ERP-{run}-{index:05d}", "customer_id": rng.choice(customer_ids),
            "currency": "CNY", "ordered_on": (today - timedelta(days=rng.randint(0, 700))).isoformat(),
            "status": rng.choice(["confirmed", "paid", "pending"]),
            "items": [{"sku": f"SKU-{rng.randint(1, 500):04d}", "name": "服务套餐", "quantity": str(quantity),
                       "unit_price": f"{price:.2f}"}],
        })
    return {"orders": orders}


def run_batches(setup: Setup, runs: int, accounted: dict[str, list[int]] | None = None) -> Result:
    """`runs` batches one after another; with `accounted`, CPU ms per batch of each group (the
    event consumers' share included only as far as they work while the batches run)."""
    token = setup.token()
    seconds: list[float] = []
    errors: list[str] = []
    load_average = os.getloadavg()[0]
    before = cpu_seconds(accounted or {})
    with httpx.Client(base_url=setup.platform.gateway_url, timeout=120,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        for attempt in range(runs):
            body = batch_body(setup.customer_ids, f"{uuid.uuid4().hex[:8]}-{attempt}")
            started = time.monotonic()
            reply = http.post("/v1/orders:batch-upsert", json=body)
            seconds.append(time.monotonic() - started)
            if reply.status_code != 200:  # counted and shown (a 500 is a bug to report, not to stop on)
                errors.append(f"{reply.status_code} {reply.text[:200]}")
                continue
            result = reply.json()
            if result["written"] != BATCH_SIZE:
                raise RuntimeError(f"batch wrote {result['written']} of {BATCH_SIZE}: {result['results'][:3]}")
    after = cpu_seconds(accounted or {})
    if errors:
        print(f"  batch errors: {errors}", flush=True)
    return Result(
        cpu_ms={k: 1000 * (after[k] - before[k]) / runs for k in after},
        name="batch", requests_per_second=0.0, p50_ms=statistics.median(seconds) * 1000,
        p95_ms=max(seconds) * 1000, p99_ms=max(seconds) * 1000, requests=runs, errors=len(errors),
        load_average=load_average, note=f"seconds per 1,000-order batch: {', '.join(f'{s:.2f}' for s in seconds)}",
    )


# -- the run ---------------------------------------------------------------------------------------


def report(results: list[Result], hop: float) -> None:
    print()
    print(f"{'scenario':<8} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'x hop':>7} {'load':>5}  note")
    for r in results:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ""
        rate = f"{r.requests_per_second:.0f}" if r.requests_per_second else ""
        print(f"{r.name:<8} {rate:>9} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} {r.p99_ms:>8.1f} {r.errors:>7} "
              f"{ratio:>7} {r.load_average:>5.1f}  {r.note}")
    groups = [g for g in next((r.cpu_ms for r in results if r.cpu_ms), {})]
    if groups:
        print("\nCPU milliseconds per request during the measured run (process and its descendants; each "
              "process's background CPU, measured idle just before, subtracted; batch: per batch, nothing "
              "subtracted; pg:customers = the backends of the customers database, part of postgres):")
        print(f"{'scenario':<8} " + " ".join(f"{g:>9}" for g in groups) + f" {'total':>9}")
        for r in results:
            if r.cpu_ms:
                # pg:<database> is part of postgres: not added twice.
                print(f"{r.name:<8} " + " ".join(f"{r.cpu_ms.get(g, 0.0):>9.2f}" for g in groups)
                      + f" {sum(v for g, v in r.cpu_ms.items() if not g.startswith('pg:')):>9.2f}")
    print(f"\nhop (mean of first and last run): {hop:.0f} req/s; targets: get >= {TARGETS['get']} x hop with p99 <= "
          "50 ms, list >= 0.25 x hop with p99 <= 100 ms, create and patch >= 400/s with p99 <= 100 ms at 16 "
          "connections, batch <= 1 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of measured load per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--read-connections", type=int, default=32)
    parser.add_argument("--write-connections", type=int, default=16)
    parser.add_argument("--customers", type=int, default=1000, help="customers seeded before the reads")
    parser.add_argument("--batch-runs", type=int, default=3)
    parser.add_argument("--only", default="get,list,create,patch,batch", help="scenarios, comma separated")
    parser.add_argument("--data-dir", type=Path, default=None, help="platform data (default: a temporary dir)")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy flame graphs into this directory")
    parser.add_argument("--settle-timeout", type=float, default=180.0,
                        help="longest wait, in seconds, for the platform to go idle before each scenario")
    args = parser.parse_args()

    wrk = ensure_wrk()
    if wrk is None:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk); "
                         "this benchmark needs it")
    work_dir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    data_dir = args.data_dir or work_dir / "platform"
    platform = Platform(data_dir, extra_env=NO_RATE_LIMITS)
    processes: list[subprocess.Popen[bytes]] = []
    print(f"work dir {work_dir}; load average at start {os.getloadavg()[0]:.1f}; gateway and hop workers: "
          f"{platform.gateway_workers}", flush=True)
    try:
        started = time.monotonic()
        platform.start()
        print(f"platform up in {time.monotonic() - started:.1f} s", flush=True)
        hop_url, processes = start_hop(work_dir, platform.gateway_workers)
        api = ApiClient(platform.gateway_url)
        slug, tenant = sign_up(api)
        admin = api.login_code_flow(slug, tenant.admin_email, tenant.admin_password)
        client = api.create_api_client(admin["access_token"], "bench", SCOPES)
        setup = Setup(platform, hop_url, api, client["client_id"], client["client_secret"])
        seed_customers(setup, args.customers)

        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        load = Load(wrk, args.threads, args.duration, args.warmup, work_dir, args.profile,
                    settle_timeout=args.settle_timeout)
        if args.profile:
            load.profiled = {name: platform.processes[name].pid for name in ("gateway", "customers")}
        load.accounted = accounted_groups(platform, processes)
        load.refresh = database_backends(platform, "crm_customers")
        only = set(args.only.split(","))
        results: list[Result] = []

        def hop_run() -> Result:
            return load.run("hop", hop_url, get_script("", setup.customer_ids[:100], "/hop/"), args.read_connections)

        first_hop = hop_run()
        results.append(first_hop)
        gateway = platform.gateway_url
        if "get" in only:
            results.append(load.run("get", gateway, get_script(setup.token(), setup.customer_ids, "/v1/customers/"),
                                    args.read_connections))
        if "list" in only:
            results.append(load.run("list", gateway, fixed_script(setup.token(), "/v1/customers?page_size=50"),
                                    args.read_connections))
        if "create" in only:
            results.append(load.run("create", gateway, create_script(setup.token()), args.write_connections))
        if "patch" in only:
            token = setup.token()
            # The warm-up changes versions: the measured run starts from the versions after it.
            warm = Load(wrk, args.threads, 0, 0, work_dir)
            if args.warmup > 0:
                warm.duration = args.warmup
                warm.run("patch-warmup", gateway, patch_script(token, current_versions(setup, token), args.threads),
                         args.write_connections)
            time.sleep(3)  # requests the warm-up left running still change versions
            measured = Load(wrk, args.threads, args.duration, 0, work_dir, args.profile, load.profiled,
                            load.accounted, args.settle_timeout, load.refresh)
            results.append(measured.run("patch", gateway,
                                        patch_script(token, current_versions(setup, token), args.threads),
                                        args.write_connections))
        if "batch" in only:
            settle(load.accounted, args.settle_timeout)
            results.append(run_batches(setup, args.batch_runs,
                                       {**load.accounted, **(load.refresh() if load.refresh else {})}))
        last_hop = hop_run()
        results.append(last_hop)
        hop = (first_hop.requests_per_second + last_hop.requests_per_second) / 2
        for r in results:
            if r.requests_per_second and r.name != "hop":
                r.ratio = r.requests_per_second / hop
        report(results, hop)
        api.close()
    finally:
        stop_processes(processes)
        platform.stop()


if __name__ == "__main__":
    main()
