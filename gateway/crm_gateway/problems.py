"""THE one error mapper: every failure leaves the gateway as RFC 9457 `application/problem+json`.

Sources of errors and where they are translated:
- gRPC errors from the services (`UpstreamError`, raised by `clients.Caller.call`): status code ->
  HTTP status via `GRPC_TO_HTTP`, the service's stable `code`, field errors and extension members.
- request shape (`RequestValidationError`): 400 `invalid_input` with field paths, or `malformed_json`.
- routing (`HTTPException`): 404 / 405 / ...
- the gateway's own checks (`Problem`), e.g. a missing token or If-Match.
- anything else: 500 `internal`, logged once with its traceback (`InternalErrorMiddleware`).

A browser asking for a web page (Accept: text/html, a path outside the API's) gets the same
problem as a page inside the web UI's shell instead (`error_page`, set by `install`): /v1, /oauth,
/.well-known and the probes always answer problem+json.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_gateway import i18n
from crm_gateway.i18n import Msg, messages
from crm_gateway.problem_texts import (
    BOUNDS,
    FIELD_MESSAGES,
    PROBLEM_DETAILS,
    PROBLEM_TITLES,
    SERVICE_FIELD_MESSAGES,
    TYPE_NAMES,
)
from crm_platform import telemetry, text
from crm_platform.errors import ErrorDetail, decode_rpc_error

log = logging.getLogger(__name__)

PROBLEM_JSON: Final = "application/problem+json"

# gRPC status -> (HTTP status, generic problem code used when the service sent no code of its own).
GRPC_TO_HTTP: Final[Mapping[grpc.StatusCode, tuple[int, str]]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_input"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "invalid_input"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_denied"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "conflict"),
    grpc.StatusCode.ABORTED: (409, "conflict"),
    grpc.StatusCode.FAILED_PRECONDITION: (412, "precondition_failed"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "rate_limited"),
    grpc.StatusCode.UNAVAILABLE: (503, "unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (503, "deadline_exceeded"),
    grpc.StatusCode.CANCELLED: (503, "unavailable"),
}
# Everything else (INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS) is a real fault.
INTERNAL: Final = (500, "internal")

# HTTP status -> generic code, for problems raised by routing or Starlette.
HTTP_CODES: Final[Mapping[int, str]] = {
    400: "bad_request", 401: "unauthenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 412: "precondition_failed", 413: "body_too_large",
    415: "unsupported_media_type", 428: "precondition_required", 429: "rate_limited",
    503: "unavailable", 504: "deadline_exceeded",
}

# Members a service's detail may not override: they are the gateway's to set.
RESERVED_MEMBERS: Final = frozenset({"type", "title", "status", "code", "detail", "errors", "instance", "trace_id"})

# Paths that always answer problem+json, whatever the Accept header says.
API_PREFIXES: Final = ("/v1/", "/oauth/", "/.well-known/", "/openapi.json", "/docs", "/healthz", "/readyz")

# Renders a problem (status, code, trace id) as a web page; see `negotiated`.
ErrorPage = Callable[[Request, int, str, "str | None"], Response]

BEARER_CHALLENGE: Final = 'Bearer realm="crm-api"'
INVALID_TOKEN_CHALLENGE: Final = 'Bearer realm="crm-api", error="invalid_token"'


# -- wire models (documentation of the shape in OpenAPI) -------------------------------------


class ProblemFieldError(BaseModel):
    field: str
    code: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details. Extension members (e.g. `current_version`) may appear."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    code: str
    detail: str
    errors: list[ProblemFieldError] = []
    instance: str
    trace_id: str | None = None


# -- exceptions the gateway raises ----------------------------------------------------------


class Problem(Exception):
    """A problem found by the gateway itself. `detail` overrides the catalogue sentence;
    `params` fill the catalogue templates."""

    def __init__(
        self,
        status: int,
        code: str,
        *,
        detail: str | None = None,
        errors: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.params = dict(params or {})
        self.extra = dict(extra or {})


FieldRenamer = Callable[[str], str]


def keep_field(name: str) -> str:
    return name


def rename_fields(mapping: Mapping[str, str], strip_prefix: str = "") -> FieldRenamer:
    """Translates a service's field names (proto names) into the REST body's names."""

    def rename(name: str) -> str:
        if strip_prefix and name.startswith(strip_prefix):
            name = name[len(strip_prefix) :]
        return mapping.get(name, name)

    return rename


@dataclass
class UpstreamError(Exception):
    """A gRPC call failed; `method` is for logs, `rename` maps field names back to REST ones."""

    error: ErrorDetail
    method: str = ""
    rename: FieldRenamer = field(default=keep_field)

    @classmethod
    def from_rpc(cls, exc: grpc.aio.AioRpcError, method: str = "", rename: FieldRenamer = keep_field) -> UpstreamError:
        try:
            detail = decode_rpc_error(exc)
        except (ValueError, TypeError, AttributeError):
            # A detail that is not the JSON object we expect (platform decode_rpc_error assumes it is).
            detail = ErrorDetail(exc.code(), "internal", exc.details() or "")
        return cls(detail, method, rename)

    def __str__(self) -> str:
        return f"{self.method}: {self.error.status.name} {self.error.code}"


# -- building responses ---------------------------------------------------------------------


def request_locale(request: Request) -> i18n.Locale:
    return i18n.negotiate(request.headers.get("accept-language"))


def catalogue_text(table: Mapping[str, Msg], code: str, locale: i18n.Locale, **params: object) -> str | None:
    """The words for `code` in one of problem_texts' tables, in `locale`; None for an unknown code."""
    msg = table.get(code)
    return None if msg is None else messages(locale).text(msg, **params)


def problem_type(request: Request, code: str) -> str:
    base: str = getattr(request.app.state, "problem_type_base", "/problems/")
    return f"{base}{code}"


def problem_response(
    request: Request,
    status: int,
    code: str,
    *,
    generic_code: str | None = None,
    detail: str | None = None,
    errors: Iterable[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, object] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """Renders one problem. Title and (unless given) detail come from the catalogue in the
    caller's language, looked up by `code` and then by the status's generic code."""
    locale = request_locale(request)
    generic = generic_code or HTTP_CODES.get(status, "internal")
    params = dict(params or {})
    title = (catalogue_text(PROBLEM_TITLES, code, locale) or catalogue_text(PROBLEM_TITLES, generic, locale)
             or generic)
    if detail is None:
        detail = (
            catalogue_text(PROBLEM_DETAILS, code, locale, **params)
            or catalogue_text(PROBLEM_DETAILS, generic, locale, **params)
            or title
        )
    body: dict[str, Any] = {
        "type": problem_type(request, code),
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "errors": [dict(e) for e in errors],
        "instance": request.url.path,
        "trace_id": telemetry.current_trace_id(),
    }
    for key, value in (extra or {}).items():
        if key not in RESERVED_MEMBERS:
            body[key] = value
    # Title and detail are in the caller's language, chosen by Accept-Language.
    all_headers = {"Content-Language": locale, "Vary": "Accept-Language", **(headers or {})}
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=PROBLEM_JSON)


# -- gRPC errors ------------------------------------------------------------------------------


def localise_field_errors(
    errors: Iterable[Mapping[str, str]], locale: i18n.Locale, rename: FieldRenamer = keep_field
) -> list[dict[str, str]]:
    """Services write English field messages; for zh-CN the catalogue's wording replaces
    them when it knows the code."""
    result = []
    for error in errors:
        code = str(error.get("code", "invalid"))
        message = str(error.get("message", ""))
        if locale != "en":
            message = catalogue_text(SERVICE_FIELD_MESSAGES, code, locale) or message
        result.append({"field": rename(str(error.get("field", ""))), "code": code, "message": message})
    return result


def _json_safe(extra: Mapping[str, Any]) -> dict[str, Any]:
    safe = {}
    for key, value in extra.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        safe[key] = value
    return safe


def upstream_problem(request: Request, exc: UpstreamError) -> JSONResponse:
    error = exc.error
    status, generic = GRPC_TO_HTTP.get(error.status, INTERNAL)
    locale = request_locale(request)
    code = error.code or generic
    if status >= 500:
        log.warning(
            "upstream call failed",
            extra=telemetry.log_fields(method=exc.method, grpc_status=error.status.name, code=code),
        )
        if status == 500:
            # The service logged the cause; the caller gets no internals.
            return problem_response(request, 500, "internal")
    headers: dict[str, str] = {}
    extra = _json_safe(error.extra)
    if status == 401:
        headers["WWW-Authenticate"] = INVALID_TOKEN_CHALLENGE
    elif status == 412 and isinstance(extra.get("current_version"), int):
        # The current version lets a client re-read and retry without guessing.
        headers["ETag"] = etag(extra["current_version"])
    elif status in (429, 503):
        retry_after = extra.get("retry_after")
        headers["Retry-After"] = str(int(retry_after)) if isinstance(retry_after, int | float) else "1"
    raw_errors = list(error.errors)
    if not raw_errors and isinstance(extra.get("field"), str):
        # A conflict on one field (e.g. a taken slug) is reported like any field error.
        raw_errors = [{"field": extra.pop("field"), "code": code, "message": error.message}]
    errors = localise_field_errors(raw_errors, locale, exc.rename)
    detail = None
    if locale == "en" and error.message and status != 400:
        detail = error.message  # services write English; theirs is the more specific sentence
    return problem_response(
        request, status, code, generic_code=generic, detail=detail, errors=errors, headers=headers,
        params={"count": len(errors)}, extra=extra,
    )


def etag(version: int) -> str:
    return f'W/"{version}"'


# -- request validation --------------------------------------------------------------------

_TYPE_EXPECTED: Final[Mapping[str, str]] = {
    "string_type": "string", "string_unicode": "string",
    "int_type": "integer", "int_parsing": "integer", "int_from_float": "integer",
    "float_type": "number", "float_parsing": "number", "decimal_type": "number", "decimal_parsing": "number",
    "bool_type": "boolean", "bool_parsing": "boolean",
    "list_type": "array", "tuple_type": "array", "set_type": "array",
    "dict_type": "object", "model_type": "object", "model_attributes_type": "object",
    "datetime_type": "timestamp", "datetime_parsing": "timestamp", "datetime_from_date_parsing": "timestamp",
    "datetime_object_invalid": "timestamp",
}
_BOUNDS: Final[Mapping[str, str]] = {
    "greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le", "less_than": "lt",
}


def field_path(loc: Sequence[str | int]) -> str:
    """('body', 'items', 0, 'name') -> 'items[0].name'; the location prefix is dropped."""
    where, *rest = loc or ("body",)
    if not rest:
        return str(where)
    path = ""
    for part in rest:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def validation_field_error(error: Mapping[str, Any], locale: i18n.Locale) -> dict[str, str]:
    kind: str = error.get("type", "")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    t = messages(locale)

    def field_message(name: str, **params: object) -> str:
        return t.text(FIELD_MESSAGES[name], **params)

    if kind == "missing":
        code, message = "required", field_message("required")
    elif kind == "extra_forbidden":
        code, message = "unknown_field", field_message("unknown_field")
    elif kind == "timezone_aware":
        code, message = "invalid_format", field_message("timezone_required")
    elif kind in _TYPE_EXPECTED:
        expected = t.text(TYPE_NAMES[_TYPE_EXPECTED[kind]])
        code, message = "invalid_type", field_message("invalid_type", expected=expected)
    elif kind in _BOUNDS:
        bound_kind = _BOUNDS[kind]
        bound = t.text(BOUNDS[bound_kind], limit=ctx.get(bound_kind))
        code, message = "out_of_range", field_message("out_of_range", bound=bound)
    elif kind == "string_too_long":
        code, message = "too_long", field_message("too_long", limit=ctx.get("max_length"))
    elif kind == "string_too_short":
        code, message = "too_short", field_message("too_short", limit=ctx.get("min_length"))
    elif kind in ("literal_error", "enum"):
        code, message = "invalid_choice", field_message("invalid_choice", expected=ctx.get("expected"))
    elif kind in (text.INVALID_CHARACTERS, text.EMPTY_AFTER_CLEANING):
        # The text rule (crm_platform.text); `path` is where inside the field (a list item, a key).
        code, message = kind, field_message(kind)
        inner = str(ctx.get("path") or "")
        if inner:
            outer = field_path(error.get("loc", ()))
            return {"field": outer + (inner if inner.startswith("[") else f".{inner}"), "code": code,
                    "message": message}
    elif kind.startswith("url_") or kind == "string_pattern_mismatch":
        reason = ctx.get("error") or ctx.get("pattern") or kind
        code, message = "invalid_format", field_message("invalid_format", reason=reason)
    else:
        code, message = "invalid", str(error.get("msg") or field_message("invalid"))
    return {"field": field_path(error.get("loc", ())), "code": code, "message": message}


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors: Sequence[Mapping[str, Any]] = exc.errors()
    for error in errors:
        if error.get("type") == "json_invalid":
            ctx = error.get("ctx") or {}
            loc: Sequence[Any] = error.get("loc") or ()
            position = loc[1] if len(loc) > 1 else 0
            return problem_response(
                request, 400, "malformed_json", params={"error": ctx.get("error", ""), "position": position}
            )
        if tuple(error.get("loc") or ()) == ("body",) and isinstance(error.get("input"), bytes):
            # FastAPI hands the raw bytes on when the content type is not JSON.
            return problem_response(request, 415, "unsupported_media_type")
    locale = request_locale(request)
    field_errors = [validation_field_error(e, locale) for e in errors]
    return problem_response(request, 400, "invalid_input", errors=field_errors, params={"count": len(field_errors)})


# -- handlers --------------------------------------------------------------------------------


def wants_page(request: Request) -> bool:
    """A browser navigating to a page (not an API client): HTML accepted, a path outside the API."""
    path = request.url.path
    if path == "/v1" or path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def negotiated(request: Request, response: JSONResponse) -> Response:
    """The problem as the web UI's error page when a browser asked for a page, else unchanged.
    Headers that matter to the client (Allow, Retry-After, WWW-Authenticate) are kept."""
    render: ErrorPage | None = getattr(request.app.state, "error_page", None)
    if render is None or not wants_page(request):
        return response
    body = json.loads(bytes(response.body))
    try:
        page = render(request, response.status_code, str(body.get("code", "")), body.get("trace_id"))
    except Exception:  # the page itself failed: the problem document still tells what happened
        log.exception("error page failed", extra=telemetry.log_fields(path=request.url.path))
        return response
    for name in ("allow", "retry-after", "www-authenticate"):
        if name in response.headers:
            page.headers[name] = response.headers[name]
    return page



def render_problem(request: Request, exc: Problem) -> JSONResponse:
    """A gateway `Problem` as a response; also used by ASGI middleware, which runs outside the
    exception handlers."""
    locale = request_locale(request)
    # Errors raised without a message get the catalogue's wording for their code.
    errors = [{**e, "message": e.get("message") or catalogue_text(FIELD_MESSAGES, e["code"], locale) or e["code"]}
              for e in exc.errors]
    return problem_response(
        request, exc.status, exc.code, detail=exc.detail, errors=errors, headers=exc.headers,
        params=exc.params, extra=exc.extra,
    )


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return negotiated(request, render_problem(request, exc))


async def _on_upstream(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UpstreamError)
    return negotiated(request, upstream_problem(request, exc))


async def _on_rpc_error(request: Request, exc: Exception) -> Response:
    # A gRPC call made without `Caller.call` (which wraps errors): map it all the same.
    assert isinstance(exc, grpc.aio.AioRpcError)
    return negotiated(request, upstream_problem(request, UpstreamError.from_rpc(exc)))


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return negotiated(request, validation_problem(request, exc))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "bad_request")
    headers = dict(exc.headers or {})
    params: dict[str, object] = {"method": request.method, "limit": request.app.state.max_body_bytes}
    return negotiated(request, problem_response(request, exc.status_code, code, headers=headers, params=params))


def install(app: FastAPI, problem_type_base: str, max_body_bytes: int, error_page: ErrorPage | None = None) -> None:
    app.state.problem_type_base = problem_type_base
    app.state.max_body_bytes = max_body_bytes
    app.state.error_page = error_page
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(UpstreamError, _on_upstream)
    app.add_exception_handler(grpc.aio.AioRpcError, _on_rpc_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)


class InternalErrorMiddleware:
    """Turns an unhandled exception into a 500 `internal` problem and logs it once, here (so
    Starlette's server-error middleware never re-raises it into the server's own log)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error", extra=telemetry.log_fields(path=scope.get("path")))
            if started:
                raise  # too late for a problem document; the server closes the connection
            request = Request(scope)
            response = negotiated(request, problem_response(request, 500, "internal"))
            await response(scope, receive, send)
