"""Freshness benchmark (issue 11 P5): how long a change recorded through the public API takes to show
in ClickHouse-backed reports, through the whole platform (outbox relay -> NATS -> the `reporting`
consumer -> chDB).

    .venv/bin/python tests/bench/bench_freshness.py                 # batched consumer, then the baseline
    .venv/bin/python tests/bench/bench_freshness.py --only batched  # one mode

For each mode (`batched`: the consumer's default, 500 events per fetch and insert; `per-event`:
`CRM_REPORTING_CONSUMER_BATCH_SIZE=1`, one transaction and insert per event as before) it starts the
platform, seeds customers, then measures from the API's reply to the figure showing:

    batch    POST /v1/orders:batch-upsert with 489 new paid orders -> /v1/reports/spend counts them all
    single   POST /v1/orders, one paid order -> counted by /v1/reports/spend   (--singles times)
    status   POST /v1/customers/{id}:change-status won -> the KPI panel's won_this_quarter grows

and prints p50 / p99 / max seconds with the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx

from crm_dev.api_client import ApiClient
from crm_dev.platform import Platform

SCOPES: Final = ["customers:read", "customers:write", "orders:read", "orders:write", "reports:read"]
NO_RATE_LIMITS: Final = {
    "CRM_GATEWAY_RATE_LIMIT_CLIENT_PER_SECOND": "1000000", "CRM_GATEWAY_RATE_LIMIT_CLIENT_BURST": "1000000",
}
POLL: Final = 0.05


def spend_orders(http: httpx.Client) -> int:
    reply = http.get("/v1/reports/spend", params={"currency": "CNY"})
    reply.raise_for_status()
    return sum(int(row["orders"]) for row in reply.json()["rows"])


def won_this_quarter(http: httpx.Client) -> int:
    reply = http.get("/v1/dashboards/panels/kpis")
    reply.raise_for_status()
    return next(int(p["count"]) for p in reply.json()["points"] if p["key"] == "won_this_quarter")


def wait_until(probe: Any, target: int, started: float, limit: float = 600.0) -> float:
    while True:
        try:
            if probe() >= target:
                return time.monotonic() - started
        except httpx.HTTPStatusError as exc:  # a 503 (deadline) on an overloaded machine: keep polling
            print(f"  poll answered {exc.response.status_code}", flush=True)
        if time.monotonic() - started > limit:
            raise RuntimeError(f"not visible within {limit} s")
        time.sleep(POLL)


def order(code: str, n: str) -> dict[str, Any]:
    return {"external_id": f"F-{n}", "customer_code": code, "amount": "10.00", "currency": "CNY", "status": "paid",
            "ordered_on": datetime.now(UTC).date().isoformat()}


def summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"{name:8} n={len(seconds):3}  p50 {statistics.median(ordered):6.2f} s  p99 {p99:6.2f} s  "
            f"max {ordered[-1]:6.2f} s  (load average {os.getloadavg()[0]:.1f})")


def run_mode(mode: str, customers: int, singles: int, work: Path) -> list[str]:
    env = dict(NO_RATE_LIMITS)
    if mode == "per-event":
        env["CRM_REPORTING_CONSUMER_BATCH_SIZE"] = "1"
    platform = Platform(work / mode, extra_env=env)
    lines = []
    try:
        platform.start()
        api = ApiClient(platform.gateway_url)
        slug = f"fresh-{uuid.uuid4().hex[:8]}"
        tenant = api.signup(slug)
        admin = api.login_code_flow(slug, tenant.admin_email, tenant.admin_password)
        client = api.create_api_client(admin["access_token"], "freshness", SCOPES)
        token = api.client_credentials(client["client_id"], client["client_secret"])
        with httpx.Client(base_url=platform.gateway_url, timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            codes, ids = [], []
            for n in range(customers):
                made = http.post("/v1/customers", json={"name": f"时效客户{n}", "mobile": f"1390000{n:04d}"})
                made.raise_for_status()
                codes.append(made.json()["code"])
                ids.append(made.json()["id"])
            wait_until(lambda: spend_orders(http), 0, time.monotonic())
            # A burst: 489 orders in one request.
            before = spend_orders(http)
            body = {"orders": [order(codes[n % len(codes)], f"B-{n}") for n in range(489)]}
            reply = http.post("/v1/orders:batch-upsert", json=body)
            reply.raise_for_status()
            started = time.monotonic()
            batch = wait_until(lambda: spend_orders(http), before + 489, started)
            lines.append(summary("batch", [batch]))
            print(lines[-1], flush=True)
            single: list[float] = []
            for n in range(singles):
                before = spend_orders(http)
                http.post("/v1/orders", json=order(codes[n % len(codes)], f"S-{n}")).raise_for_status()
                single.append(wait_until(lambda before=before: spend_orders(http), before + 1, time.monotonic()))
            lines.append(summary("single", single))
            print(lines[-1], flush=True)
            status: list[float] = []
            for n in range(min(singles, len(ids))):
                before = won_this_quarter(http)
                http.post(f"/v1/customers/{ids[n]}:change-status",
                          json={"status": "won", "reason": "freshness"}).raise_for_status()
                status.append(wait_until(lambda before=before: won_this_quarter(http), before + 1, time.monotonic()))
            lines.append(summary("status", status))
    finally:
        platform.stop()
    return [f"{mode}: {line}" for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--singles", type=int, default=30)
    parser.add_argument("--only", choices=["batched", "per-event"], default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    print(f"work dir {work}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    lines: list[str] = []
    for mode in ([args.only] if args.only else ["batched", "per-event"]):
        lines += run_mode(mode, args.customers, args.singles, work)
        print("\n".join(lines[-3:]), flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
