"""The job worker running customer exports in the customers process."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from crm_customers.customer.service import CustomerService
from crm_customers.exports.service import JOB_KIND, ExportRunner
from crm_platform.jobs import JobWorker
from crm_platform.runtime import ServiceRuntime

# A failed attempt (e.g. the database restarting) is retried; the export resumes after its last page.
RETRY_SCHEDULE: Final = [timedelta(seconds=s) for s in (2, 10, 30, 60, 300)]


def export_worker(runtime: ServiceRuntime, customers: CustomerService) -> JobWorker:
    return JobWorker(runtime.engine, {JOB_KIND: ExportRunner(runtime.engine, customers)}, RETRY_SCHEDULE,
                     concurrency=2, lease=timedelta(minutes=10))
