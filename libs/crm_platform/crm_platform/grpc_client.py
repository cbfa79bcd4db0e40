"""gRPC client helpers: channels, deadlines, and metadata carrying the caller's token and the
trace context."""

from __future__ import annotations

import grpc

from crm_platform import telemetry

DEFAULT_DEADLINE = 5.0


def channel(address: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.max_receive_message_length", 8 * 1024 * 1024),
            ("grpc.enable_retries", 1),
        ],
    )


def call_metadata(token: str | None = None, locale: str | None = None) -> tuple[tuple[str, str], ...]:
    """Bearer token (forwarded as is: the callee verifies it), locale and W3C trace context."""
    metadata: dict[str, str] = {}
    if token:
        metadata["authorization"] = f"Bearer {token}"
    if locale:
        metadata["accept-language"] = locale
    telemetry.inject(metadata)
    return tuple(metadata.items())
