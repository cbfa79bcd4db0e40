"""tagging: tags, auto-tag rules, and the tags applied to customers."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crm_platform.config import ServiceSettings
from crm_platform.consumer import Subscription
from crm_platform.customer_scope import CustomersOverGrpc
from crm_platform.jobs import JobWorker
from crm_platform.pagination import PageTokens
from crm_platform.runtime import ServiceDefinition, ServiceRuntime, serve
from crm_platform.scheduler import ScheduleHandler
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc
from crm_tagging import access, automation, erasure
from crm_tagging.autotag import sweeps
from crm_tagging.autotag.events import subscription
from crm_tagging.autotag.service import SWEEP_JOB, SWEEP_SCHEDULE, AutoTagService
from crm_tagging.batch.service import BATCH_JOB, UNDO_JOB, BatchService
from crm_tagging.merging import events as merging_events
from crm_tagging.servicer import SERVICE_NAME, TaggingServicer
from crm_tagging.tag.service import TagService


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_TAGGING_", extra="ignore")

    service_name: str = "tagging"
    # Asked with the caller's token about a customer tagging's projection does not show as visible
    # (data scope on tags by hand, crm_tagging/access.py).
    customers_addr: str = Field(description="host:port of customers' gRPC server")


@dataclass(frozen=True)
class Components:
    """The service objects, built once per process and shared by the gRPC API and the consumer."""

    tags: TagService
    autotag: AutoTagService


@functools.cache
def components(runtime: ServiceRuntime) -> Components:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    tags = TagService(PageTokens(settings.page_token_key),
                      access.customer_access(CustomersOverGrpc(settings.customers_addr)))
    return Components(tags=tags, autotag=AutoTagService(tags))


def _register(server: grpc.aio.Server, runtime: ServiceRuntime) -> Iterable[str]:
    parts = components(runtime)
    tagging_pb2_grpc.add_TaggingServiceServicer_to_server(
        TaggingServicer(runtime.engine, parts.tags, parts.autotag), server
    )
    return [SERVICE_NAME]


def _subscriptions(runtime: ServiceRuntime) -> list[Subscription]:
    return [subscription(components(runtime).autotag), erasure.subscription(), merging_events.subscription(),
            *access.subscriptions(), automation.subscription(components(runtime).tags)]


def _schedules(runtime: ServiceRuntime) -> dict[str, ScheduleHandler]:
    return {SWEEP_SCHEDULE: sweeps.enqueue_sweeps}


def _workers(runtime: ServiceRuntime) -> list[JobWorker]:
    parts = components(runtime)
    batches = BatchService(parts.tags)
    handlers = {SWEEP_JOB: sweeps.sweep_runner(runtime.engine, parts.autotag),
                BATCH_JOB: batches.runner(runtime.engine), UNDO_JOB: batches.undo_runner(runtime.engine)}
    return [JobWorker(runtime.engine, handlers, sweeps.RETRY_SCHEDULE, concurrency=2)]


DEFINITION = ServiceDefinition(
    name="tagging", package_dir=Path(__file__).parent, register=_register, subscriptions=_subscriptions,
    schedules=_schedules, workers=_workers,
)


def main() -> None:
    serve(DEFINITION, Settings())  # type: ignore[call-arg]
