"""The one error hierarchy. Domain code raises these; the gRPC edge maps them to status codes
with a JSON detail in trailing metadata; the gateway maps those to RFC 9457 problem+json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

import grpc

# Trailing-metadata key carrying the structured error between services and the gateway.
ERROR_METADATA_KEY = "crm-error"


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    code: ClassVar[str] = "internal"
    status: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if code is not None:  # a more specific stable code, e.g. OAuth's "invalid_grant"
            self.code = code  # type: ignore[misc]

    def detail(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class NotFound(DomainError):
    code = "not_found"
    status = grpc.StatusCode.NOT_FOUND


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = grpc.StatusCode.PERMISSION_DENIED


class Conflict(DomainError):
    code = "conflict"
    status = grpc.StatusCode.ALREADY_EXISTS


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    status = grpc.StatusCode.FAILED_PRECONDITION


class RateLimited(DomainError):
    code = "rate_limited"
    status = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    code = "unavailable"
    status = grpc.StatusCode.UNAVAILABLE


class InvalidInput(DomainError):
    code = "invalid_input"
    status = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        self.errors = errors
        super().__init__(message or f"{len(errors)} field(s) are invalid")

    def detail(self) -> dict[str, Any]:
        return {**super().detail(), "errors": [e.as_dict() for e in self.errors]}


@dataclass
class ErrorDetail:
    """An error as it crosses a gRPC boundary."""

    status: grpc.StatusCode
    code: str
    message: str
    errors: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def encode_detail(error: DomainError) -> str:
    return json.dumps(error.detail(), ensure_ascii=True, default=str)


def decode_rpc_error(error: grpc.aio.AioRpcError) -> ErrorDetail:
    """Reads the structured detail a service attached; falls back to the bare status."""
    status = error.code()
    metadata: Any = error.trailing_metadata() or ()
    for key, value in metadata:
        if key == ERROR_METADATA_KEY:
            data = json.loads(value)
            code = data.pop("code", "internal")
            message = data.pop("message", "")
            errors = data.pop("errors", [])
            return ErrorDetail(status, code, message, errors, data)
    fallback = {
        grpc.StatusCode.UNAVAILABLE: "unavailable",
        grpc.StatusCode.DEADLINE_EXCEEDED: "deadline_exceeded",
        grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
        grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
        grpc.StatusCode.NOT_FOUND: "not_found",
    }.get(status, "internal")
    return ErrorDetail(status, fallback, error.details() or "")
