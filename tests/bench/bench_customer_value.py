"""Back-test of the customer value model (docs/reporting.md, "Customer value"): the predicted value
the service computes (the real `value_query` SQL on chDB), fitted on the first 24 months of a
generated history and asked for the next 12, against what the customers then spent.

    .venv/bin/python tests/bench/bench_customer_value.py                  # 20,000 customers
    .venv/bin/python tests/bench/bench_customer_value.py --customers 2000 # a quick check

The history follows the Pareto/NBD story the model approximates, with its parameters drawn per
customer: purchases as a Poisson process (rate ~ Gamma, mean 4 a year), a lifetime after which the
customer buys no more (exponential, dropout rate ~ Gamma, mean 0.35 a year), order values around a
customer's own mean (log-normal, median ¥2,000), seasonality (Q4 x1.4), first purchase in the first
24 months. Printed: Spearman rank correlation and errors of the model and of the naive baseline
"the next 12 months repeat the last 12" over the customers who bought in the first 24 months.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from crm_reporting.analytics.chdb_backend import ChdbAnalytics
from crm_reporting.analytics.schema import ensure_schema
from crm_reporting.customers.tables import CUSTOMERS
from crm_reporting.dashboards.audience import add_months, parse_object
from crm_reporting.main import ANALYTICS_TABLES
from crm_reporting.orders.tables import ORDERS
from crm_reporting.scope.service import EVERY_CUSTOMER
from crm_reporting.value.rules import ValueRules
from crm_reporting.value.service import value_query

START = date(2023, 1, 1)
CUTOFF = add_months(START, 24)
END = add_months(START, 36)


def ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(a: list[float], b: list[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    mean_a, mean_b = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(ra, rb, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in ra)
    var_b = sum((y - mean_b) ** 2 for y in rb)
    return cov / math.sqrt(var_a * var_b)


def history(customers: int, seed: int) -> dict[uuid.UUID, list[tuple[date, Decimal]]]:
    rng = random.Random(seed)
    orders: dict[uuid.UUID, list[tuple[date, Decimal]]] = {}
    for _ in range(customers):
        cid = uuid.uuid4()
        rate = rng.gammavariate(2.0, 2.0)  # purchases a year, mean 4
        dropout = rng.gammavariate(1.4, 0.25)  # a year, mean 0.35
        median_value = 2000 * math.exp(rng.gauss(0, 0.8))
        born = START + timedelta(days=rng.randint(0, 729))
        death = born + timedelta(days=min(365 * rng.expovariate(dropout), 3650))
        day, made = born, []
        while day < END and day < death:
            boost = 1.4 if day.month >= 10 else 1.0
            value = Decimal(f"{median_value * math.exp(rng.gauss(0, 0.5)) * boost:.2f}")
            made.append((day, value))
            day += timedelta(days=max(1, round(365 * rng.expovariate(rate))))
        orders[cid] = made
    return orders


async def main_async(customers: int, seed: int) -> None:
    tenant = uuid.uuid4()
    orders = history(customers, seed)
    started = time.monotonic()
    analytics = await ChdbAnalytics.open(Path(tempfile.mkdtemp(prefix="bench-value-")))
    try:
        await ensure_schema(analytics, ANALYTICS_TABLES)
        at = datetime(2023, 1, 1, tzinfo=UTC)
        await analytics.insert(CUSTOMERS, [
            {"tenant_id": tenant, "customer_id": cid, "version": 1, "status": "won", "created_at": at,
             "updated_at": at, "deleted": 0, "first_contact_on": START} for cid in orders])
        rows = [{"tenant_id": tenant, "order_id": uuid.uuid4(), "version": 1, "customer_id": cid, "kind": "order",
                 "amount": str(value), "currency": "CNY", "ordered_on": day, "status": "paid"}
                for cid, made in orders.items() for day, value in made]
        for start in range(0, len(rows), 200_000):
            await analytics.insert(ORDERS, rows[start:start + 200_000])
        print(f"{customers:,} customers, {len(rows):,} orders over 36 months, loaded in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        query = value_query(tenant, parse_object("all", EVERY_CUSTOMER, {}), ValueRules(), "CNY",
                            CUTOFF - timedelta(days=1), horizon_years=1)
        started = time.monotonic()
        fitted = await analytics.query(query)
        seconds = time.monotonic() - started
    finally:
        await analytics.close()
    predicted, naive, actual = [], [], []
    for row in fitted:
        cid = uuid.UUID(str(row["customer_id"]))
        predicted.append(float(row["predicted_value"]))
        naive.append(float(row["annual_spend"]))
        actual.append(float(sum(v for d, v in orders[cid] if CUTOFF <= d < END)))
    total = sum(actual)
    print(f"fitted on {len(fitted):,} customers who bought in months 1-24 (query {seconds * 1000:.0f} ms); "
          f"actual months 25-36 total ¥{total:,.0f}")
    for name, guess in (("model (RFM estimate)", predicted), ("naive: last 12 months", naive)):
        mae = sum(abs(g - a) for g, a in zip(guess, actual, strict=True)) / len(actual)
        print(f"{name:24} Spearman {spearman(guess, actual):.3f}  MAE ¥{mae:,.0f} per customer  "
              f"total predicted ¥{sum(guess):,.0f} ({(sum(guess) - total) / total:+.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    asyncio.run(main_async(args.customers, args.seed))


if __name__ == "__main__":
    main()
