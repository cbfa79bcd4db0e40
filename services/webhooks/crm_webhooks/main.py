"""The webhooks deployable: settings, wiring, and `python -m crm_webhooks`."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from crm_platform import resealing
from crm_platform.config import ServiceSettings
from crm_platform.consumer import Subscription
from crm_platform.jobs import JobWorker
from crm_platform.pagination import PageTokens
from crm_platform.runtime import ServiceDefinition, ServiceRuntime, serve
from crm_proto.crm.webhooks.v1 import webhooks_pb2_grpc
from crm_webhooks.delivery.events import subscription
from crm_webhooks.delivery.sender import WebhookSender
from crm_webhooks.delivery.service import DeliveryService
from crm_webhooks.delivery.worker import (
    DEFAULT_RETRY_SCHEDULE,
    DeliverWebhook,
    delivery_worker,
    max_attempts,
    parse_retry_schedule,
)
from crm_webhooks.endpoint.secrets import SecretCipher, parse_service_key
from crm_webhooks.endpoint.service import EndpointService
from crm_webhooks.servicer import SERVICE_NAME, WebhookServicer


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
    delivery_timeout: float = 10.0
    delivery_concurrency: int = Field(default=8, ge=1)

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


@dataclass(frozen=True)
class Components:
    """The service's objects, built once per process from its settings."""

    settings: Settings
    endpoint_service: EndpointService
    delivery_service: DeliveryService
    sender: WebhookSender


def build_components(settings: Settings) -> Components:
    key = settings.secret_key_bytes
    allow_private = settings.allow_private_targets
    endpoint_service = EndpointService(SecretCipher(key), allow_private_targets=allow_private)
    page_tokens = PageTokens(settings.page_token_key)
    delivery_service = DeliveryService(
        endpoint_service, page_tokens, max_attempts=max_attempts(settings.retry_delays)
    )
    sender = WebhookSender(allow_private_targets=allow_private, timeout=settings.delivery_timeout)
    return Components(settings, endpoint_service, delivery_service, sender)


@functools.cache
def components(runtime: ServiceRuntime) -> Components:
    if not isinstance(runtime.settings, Settings):
        raise TypeError("the webhooks runtime needs crm_webhooks.main.Settings")
    return build_components(runtime.settings)


def register(server: grpc.aio.Server, runtime: ServiceRuntime) -> Iterable[str]:
    parts = components(runtime)
    servicer = WebhookServicer(runtime.engine, parts.endpoint_service, parts.delivery_service)
    webhooks_pb2_grpc.add_WebhookServiceServicer_to_server(servicer, server)
    return [SERVICE_NAME]


def subscriptions(runtime: ServiceRuntime) -> list[Subscription]:
    return [subscription(components(runtime).delivery_service)]


def workers(runtime: ServiceRuntime) -> list[JobWorker]:
    parts = components(runtime)
    handler = DeliverWebhook(
        runtime.engine, parts.delivery_service, parts.sender, parts.settings.retry_delays
    )
    return [delivery_worker(runtime.engine, handler, concurrency=parts.settings.delivery_concurrency),
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
