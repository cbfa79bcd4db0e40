"""One server span per HTTP request, continuing the caller's W3C trace context; gRPC calls made
while it is current carry it on (crm_platform.grpc_client.call_metadata), and problem documents
and JSON logs show its trace id."""

from __future__ import annotations

from opentelemetry import context as otel_context
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_platform import telemetry


class TraceMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tracer = telemetry.tracer("crm_gateway.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        token = otel_context.attach(telemetry.extract(headers))
        try:
            with self.tracer.start_as_current_span(
                # The method alone: raw paths hold ids, and span names should not.
                scope["method"], kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": scope["method"], "url.path": scope["path"]},
            ) as span:

                async def traced_send(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        span.set_attribute("http.response.status_code", message["status"])
                        trace_id = telemetry.current_trace_id()
                        if trace_id:
                            # Lets a client quote the id when reporting a problem.
                            message["headers"] = [*message.get("headers", ()), (b"x-trace-id", trace_id.encode())]
                    await send(message)

                await self.app(scope, receive, traced_send)
        finally:
            otel_context.detach(token)
