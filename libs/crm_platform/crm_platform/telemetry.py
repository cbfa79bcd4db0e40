"""Tracing (OpenTelemetry, W3C trace context across gRPC metadata and NATS headers), metrics
(OpenTelemetry instruments, e.g. `crm.scheduler.lag`, `crm.mail.sent`) and JSON logs carrying tenant,
user and trace ids. Sensitive values are never passed to the logger.

Metrics are recorded through `opentelemetry.metrics.get_meter(...)` and exported by the readers of
the meter provider set up here: OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (and the exporter is
installed). A Prometheus scrape endpoint is one more reader on this provider
(`opentelemetry-exporter-prometheus`'s `PrometheusMetricReader`); no instrument changes."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

tenant_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant_id", default=None)
user_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)

_configured = False


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "service": getattr(record, "service", None) or os.environ.get("OTEL_SERVICE_NAME"),
        }
        if tenant := tenant_var.get():
            entry["tenant_id"] = tenant
        if user := user_var.get():
            entry["user_id"] = user
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for key, value in record.__dict__.get("fields", {}).items():
            entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(service_name: str, log_level: str = "INFO") -> None:
    """Configures JSON logging and the tracer provider once per process."""
    global _configured
    if _configured:
        return
    _configured = True
    os.environ.setdefault("OTEL_SERVICE_NAME", service_name)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level.upper())
    for noisy in ("nats", "httpx", "uvicorn.access", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    resource = Resource.create({"service.name": service_name})
    provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = []
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter,
            )

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        except ImportError:
            logging.getLogger(__name__).warning("OTLP endpoint set but the metric exporter is not installed")
    metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        try:  # the OTLP exporter is an optional install in production images
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter,
            )

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        except ImportError:
            logging.getLogger(__name__).warning("OTLP endpoint set but exporter not installed")
    elif os.environ.get("CRM_TRACE_CONSOLE") == "1":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(carrier: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Writes the current trace context (traceparent/tracestate) into headers or metadata."""
    propagate.inject(carrier)
    return carrier


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(carrier)


def current_trace_id() -> str | None:
    span = trace.get_current_span().get_span_context()
    return format(span.trace_id, "032x") if span.is_valid else None


def log_fields(**fields: Any) -> dict[str, Any]:
    """`logger.info("msg", extra=log_fields(order=3))` adds structured fields to the JSON line."""
    return {"fields": fields}
