"""The job worker running mass changes in the customers process."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from crm_customers.bulk.service import JOB_KIND, BulkChangeRunner
from crm_customers.customer.service import CustomerService
from crm_platform.jobs import JobWorker
from crm_platform.runtime import ServiceRuntime

# A failed attempt (e.g. the database restarting) is retried; progress is kept per batch.
RETRY_SCHEDULE: Final = [timedelta(seconds=s) for s in (2, 10, 30, 60, 120, 300, 600, 900, 1800)]


def bulk_change_worker(runtime: ServiceRuntime, customers: CustomerService) -> JobWorker:
    return JobWorker(runtime.engine, {JOB_KIND: BulkChangeRunner(runtime.engine, customers)}, RETRY_SCHEDULE,
                     concurrency=2, lease=timedelta(minutes=10))
