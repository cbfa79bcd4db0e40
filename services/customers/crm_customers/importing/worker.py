"""The job worker running customer imports (dry run, import, undo) in the customers process."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from crm_customers.importing.service import JOB_KIND, ImportRunner
from crm_customers.sensitive.service import SensitiveFields
from crm_platform.jobs import JobWorker
from crm_platform.runtime import ServiceRuntime

# A failed attempt (e.g. the database restarting) is retried; the import resumes after its cursor.
RETRY_SCHEDULE: Final = [timedelta(seconds=s) for s in (2, 10, 30, 60, 300)]


def import_worker(runtime: ServiceRuntime, sensitive: SensitiveFields) -> JobWorker:
    return JobWorker(runtime.engine, {JOB_KIND: ImportRunner(runtime.engine, sensitive)}, RETRY_SCHEDULE,
                     concurrency=1, poll_seconds=0.2, lease=timedelta(minutes=10))
