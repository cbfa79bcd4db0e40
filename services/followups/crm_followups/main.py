"""followups: follow-up tasks and the cadence rules that schedule them when tags are applied."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crm_followups import access, erasure
from crm_followups.automation import events as automation_events
from crm_followups.automation import servicer as automation_servicer
from crm_followups.automation.service import AutomationService
from crm_followups.cadence.escalation import Escalations
from crm_followups.cadence.events import subscription
from crm_followups.cadence.service import CADENCE_KIND, CadenceService
from crm_followups.cadence.settings import ESCALATE_KIND
from crm_followups.feedback import sentiment
from crm_followups.feedback.service import FeedbackService
from crm_followups.feedback.servicer import PUBLIC_METHODS as FEEDBACK_PUBLIC
from crm_followups.feedback.servicer import SERVICE_NAME as FEEDBACK_SERVICE_NAME
from crm_followups.feedback.servicer import FeedbackServicer
from crm_followups.inbound import directory as inbound_directory
from crm_followups.inbound.server import InboundSmtpServer
from crm_followups.inbound.service import InboundService
from crm_followups.inbound.servicer import SERVICE_NAME as INBOUND_SERVICE
from crm_followups.inbound.servicer import InboundMailServicer
from crm_followups.merging import events as merging_events
from crm_followups.record.service import RecordService
from crm_followups.reminders.service import DEFAULT_ZONE, DIGEST_KIND, Reminders
from crm_followups.servicer import SERVICE_NAME, FollowupServicer
from crm_followups.surveys.service import ContactsOverGrpc, SurveyService
from crm_followups.task.service import DUE_KIND, TaskService
from crm_platform.config import ServiceSettings
from crm_platform.consumer import Subscription
from crm_platform.customer_scope import CustomersOverGrpc
from crm_platform.pagination import PageTokens
from crm_platform.runtime import Background, ServiceDefinition, ServiceRuntime, serve
from crm_platform.scheduler import ScheduleHandler
from crm_proto.crm.followups.v1 import feedback_pb2_grpc, followups_pb2_grpc, inbound_pb2_grpc


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_FOLLOWUPS_", extra="ignore")

    service_name: str = "followups"
    # Asked with the caller's token when followups' projection does not know a customer yet, or
    # says the caller may not see it (read-your-writes for data scope, crm_platform/customer_scope.py).
    customers_addr: str = Field(description="host:port of customers' gRPC server")
    # Links in reminder emails ({public_url}/app/customers/...); the gateway's public URL.
    public_url: str = ""
    # The zone of a user who chose none, for reminder times and the 08:00 digest.
    default_time_zone: str = DEFAULT_ZONE
    # Email into the timeline (inbound/): the SMTP server for the tenants' inbound addresses
    # (`<slug>+<tenant>.<token>@<inbound_domain>`); port 0 runs no server.
    inbound_smtp_host: str = "127.0.0.1"
    inbound_smtp_port: int = 0
    inbound_domain: str = "inbound.localhost"


@dataclass(frozen=True)
class Components:
    """The service objects, built once per process and shared by the gRPC API and the consumer."""

    tasks: TaskService
    cadences: CadenceService
    records: RecordService
    automation: AutomationService
    feedback: FeedbackService
    surveys: SurveyService
    inbound: InboundService


@functools.cache
def components(runtime: ServiceRuntime) -> Components:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    tasks = TaskService(PageTokens(settings.page_token_key),
                        access.customer_access(CustomersOverGrpc(settings.customers_addr)))
    feedback = FeedbackService(tasks)
    surveys = SurveyService(tasks, feedback, ContactsOverGrpc(settings.customers_addr), runtime.mailer,
                            settings.public_url)
    records = RecordService(tasks)
    return Components(tasks=tasks, cadences=CadenceService(tasks, settings.default_time_zone),
                      records=records, automation=AutomationService(), feedback=feedback,
                      surveys=surveys, inbound=InboundService(runtime.engine, records, settings.inbound_domain))


def _register(server: grpc.aio.Server, runtime: ServiceRuntime) -> Iterable[str]:
    parts = components(runtime)
    followups_pb2_grpc.add_FollowupServiceServicer_to_server(
        FollowupServicer(runtime.engine, parts.tasks, parts.cadences, parts.records), server
    )
    feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(
        FeedbackServicer(runtime.engine, parts.feedback, parts.surveys), server
    )
    inbound_pb2_grpc.add_InboundMailServiceServicer_to_server(InboundMailServicer(runtime.engine, parts.inbound),
                                                               server)
    return [SERVICE_NAME, FEEDBACK_SERVICE_NAME, INBOUND_SERVICE,
            automation_servicer.add_to_server(server, runtime.engine, parts.tasks, parts.cadences, parts.automation)]


def _subscriptions(runtime: ServiceRuntime) -> list[Subscription]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    return [subscription(components(runtime).cadences), erasure.subscription(), merging_events.subscription(),
            *access.subscriptions(settings.default_time_zone),
            automation_events.subscription(components(runtime).automation), inbound_directory.subscription()]


def _schedules(runtime: ServiceRuntime) -> dict[str, ScheduleHandler]:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    reminders = Reminders(runtime.mailer, settings.public_url, settings.default_time_zone)
    escalations = Escalations(runtime.mailer, settings.public_url, settings.default_time_zone)
    return {DUE_KIND: reminders.fire_due, DIGEST_KIND: reminders.fire_digest,
            CADENCE_KIND: components(runtime).cadences.fire_recurring, ESCALATE_KIND: escalations.fire}


async def _warm_up(runtime: ServiceRuntime) -> None:
    await asyncio.to_thread(sentiment.warm_up)  # the sentiment models, before the first request


def _workers(runtime: ServiceRuntime) -> list[Background]:
    """The inbound SMTP server (email into the timeline), when a port is set."""
    settings = runtime.settings
    assert isinstance(settings, Settings)
    if not settings.inbound_smtp_port:
        return []
    return [InboundSmtpServer(components(runtime).inbound, settings.inbound_smtp_host, settings.inbound_smtp_port,
                              settings.inbound_domain)]


DEFINITION = ServiceDefinition(
    name="followups", package_dir=Path(__file__).parent, register=_register, subscriptions=_subscriptions,
    schedules=_schedules, sends_mail=True, public_methods=FEEDBACK_PUBLIC, on_start=_warm_up, workers=_workers,
)


def main() -> None:
    serve(DEFINITION, Settings())  # type: ignore[call-arg]
