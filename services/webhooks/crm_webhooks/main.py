"""The webhooks deployable: settings, wiring, and `python -m crm_webhooks`."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_platform import resealing
from crm_platform.config import ServiceSettings
from crm_platform.consumer import Subscription
from crm_platform.db import tenant_session
from crm_platform.jobs import Job, JobHandler, JobWorker
from crm_platform.pagination import PageTokens
from crm_platform.runtime import Background, ServiceDefinition, ServiceRuntime, serve
from crm_proto.crm.webhooks.v1 import webhooks_pb2_grpc
from crm_webhooks.delivery.attempts import DeliveryAttempts
from crm_webhooks.delivery.events import subscription
from crm_webhooks.delivery.schedule import DEFAULT_RETRY_SCHEDULE, parse_retry_schedule
from crm_webhooks.delivery.sender import WebhookSender
from crm_webhooks.delivery.service import DeliveryService
from crm_webhooks.dispatch.dispatcher import Dispatcher
from crm_webhooks.dispatch.repository import Limits
from crm_webhooks.endpoint.secrets import SecretCipher, parse_service_key
from crm_webhooks.endpoint.service import EndpointService
from crm_webhooks.replay.job import RunReplay
from crm_webhooks.replay.service import REPLAY_JOB, ReplayService
from crm_webhooks.servicer import SERVICE_NAME, WebhookServicer

# Written by replicas running the code before the fair queue (w0040); moved into the queue.
LEGACY_DELIVER_JOB = "webhook.deliver"
# Retries of the replay job itself (a batch failing on a database hiccup).
JOB_RETRY_SCHEDULE = [timedelta(seconds=s) for s in (5, 30, 120, 600)]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_WEBHOOKS_", extra="ignore")

    service_name: str = "webhooks"
    secret_key: SecretStr = Field(
        description="CRM_WEBHOOKS_SECRET_KEY: base64 of 32 random bytes; encrypts signing secrets at rest"
    )
    retry_schedule: str = Field(
        default=DEFAULT_RETRY_SCHEDULE, description="seconds to wait after attempt 1, 2, ...; then dead"
    )
    # Production refuses private and loopback targets; the dev runner and tests deliver to 127.0.0.1.
    allow_private_targets: bool = False
    delivery_timeout: float = Field(default=10.0, gt=0, description="seconds for a whole attempt")
    # Sender slots per process, and how many attempts may be in flight at once per endpoint and
    # per tenant across all processes (docs/webhooks.md, "Fairness").
    delivery_concurrency: int = Field(default=16, ge=1)
    endpoint_concurrency: int = Field(default=4, ge=1)
    tenant_concurrency: int = Field(default=8, ge=1)
    dispatch_poll_seconds: float = Field(default=0.5, gt=0)
    disable_failing_after: float = Field(
        default=5 * 24 * 3600, gt=0,
        description="seconds of nothing but failed attempts after which an endpoint is disabled",
    )

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        parse_service_key(value.get_secret_value())
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _retry_schedule_parses(cls, value: str) -> str:
        parse_retry_schedule(value)
        return value

    @property
    def secret_key_bytes(self) -> bytes:
        return parse_service_key(self.secret_key.get_secret_value())

    @property
    def retry_delays(self) -> list[timedelta]:
        return parse_retry_schedule(self.retry_schedule)

    @property
    def limits(self) -> Limits:
        return Limits(endpoint=self.endpoint_concurrency, tenant=self.tenant_concurrency)

    @property
    def lease(self) -> timedelta:
        """How long a claim holds a delivery: an attempt's deadline plus room for its two writes."""
        return timedelta(seconds=self.delivery_timeout + 60)


@dataclass(frozen=True)
class Components:
    """The service's objects, built once per process from its settings."""

    settings: Settings
    endpoint_service: EndpointService
    delivery_service: DeliveryService
    replay_service: ReplayService
    sender: WebhookSender


def build_components(settings: Settings) -> Components:
    key = settings.secret_key_bytes
    allow_private = settings.allow_private_targets
    endpoint_service = EndpointService(
        SecretCipher(key), allow_private_targets=allow_private,
        disable_failing_after=timedelta(seconds=settings.disable_failing_after),
    )
    page_tokens = PageTokens(settings.page_token_key)
    delivery_service = DeliveryService(endpoint_service, page_tokens, retry_schedule=settings.retry_delays)
    sender = WebhookSender(allow_private_targets=allow_private, timeout=settings.delivery_timeout)
    return Components(settings, endpoint_service, delivery_service, ReplayService(delivery_service, page_tokens),
                      sender)


def build_dispatcher(engine: AsyncEngine, parts: Components) -> Dispatcher:
    """The sender pool of one process; deliveries queued by this process wake it at once."""
    settings = parts.settings
    dispatcher = Dispatcher(
        engine, DeliveryAttempts(engine, parts.delivery_service, parts.sender),
        concurrency=settings.delivery_concurrency, limits=settings.limits, lease=settings.lease,
        poll_seconds=settings.dispatch_poll_seconds,
    )
    parts.delivery_service.wake = dispatcher.wake
    return dispatcher


def build_job_worker(engine: AsyncEngine, parts: Components) -> JobWorker:
    async def requeue_legacy(job: Job) -> dict[str, Any]:
        tenant_id = job.tenant_id or uuid.UUID(job.payload["tenant_id"])
        async with tenant_session(engine, tenant_id) as session:
            queued = await parts.delivery_service.requeue(session, tenant_id, uuid.UUID(job.payload["delivery_id"]))
        return {"queued": queued}

    handlers: dict[str, JobHandler] = {REPLAY_JOB: RunReplay(engine, parts.replay_service),
                                       LEGACY_DELIVER_JOB: requeue_legacy}
    return JobWorker(engine, handlers, JOB_RETRY_SCHEDULE, concurrency=2)


@functools.cache
def components(runtime: ServiceRuntime) -> Components:
    if not isinstance(runtime.settings, Settings):
        raise TypeError("the webhooks runtime needs crm_webhooks.main.Settings")
    return build_components(runtime.settings)


def register(server: grpc.aio.Server, runtime: ServiceRuntime) -> Iterable[str]:
    parts = components(runtime)
    servicer = WebhookServicer(runtime.engine, parts.endpoint_service, parts.delivery_service, parts.replay_service)
    webhooks_pb2_grpc.add_WebhookServiceServicer_to_server(servicer, server)
    return [SERVICE_NAME]


def subscriptions(runtime: ServiceRuntime) -> list[Subscription]:
    return [subscription(components(runtime).delivery_service)]


def workers(runtime: ServiceRuntime) -> list[Background]:
    parts = components(runtime)
    return [build_dispatcher(runtime.engine, parts), build_job_worker(runtime.engine, parts),
            # Endpoint secrets into the platform's sealing envelope (migration w0035).
            resealing.worker(runtime.engine, parts.endpoint_service.cipher.reseal_targets())]


DEFINITION = ServiceDefinition(
    name="webhooks",
    package_dir=Path(__file__).parent,
    register=register,
    subscriptions=subscriptions,
    workers=workers,
)


def main() -> None:
    serve(DEFINITION, Settings())  # type: ignore[call-arg]  # values come from the environment
