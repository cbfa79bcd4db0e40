"""What every REST resource shares: operation metadata (scopes, errors), request/response base
models, list paging, timestamps and ETags."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Generic, TypeVar, get_args

from fastapi import Depends, Request, Response, Security
from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, to_json

from crm_gateway.auth import anonymous, authenticate, authenticate_any, current_caller
from crm_gateway.clients import Backends, Caller, backends
from crm_gateway.problems import PROBLEM_JSON, Problem, ProblemDetails
from crm_platform import text
from crm_platform.auth import Scope

# Handler parameters: the verified caller (or an anonymous one) and the gRPC stubs.
CallerDep = Annotated[Caller, Depends(current_caller)]
AnonymousDep = Annotated[Caller, Depends(anonymous)]
BackendsDep = Annotated[Backends, Depends(backends)]

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 500

ERROR_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Invalid input (`invalid_input`, with per-field `errors`; `invalid_characters` / `empty_after_cleaning` "
         "for text the text rule refuses, in the body or in any query or path parameter) or malformed JSON "
         "(`malformed_json`).",
    401: "No valid access token (`unauthenticated`, `invalid_token`).",
    403: "The token lacks the scope or role (`permission_denied`).",
    404: "Absent, or outside the caller's tenant or data scope (`not_found`).",
    409: "Conflicts with existing data (`conflict`).",
    412: "`If-Match` is stale (`stale_version`); `current_version` and `ETag` give the current one.",
    413: "Body larger than 1 MiB (`body_too_large`).",
    415: "Body is not JSON (`unsupported_media_type`).",
    428: "`If-Match` is required (`precondition_required`).",
    429: "Rate limited (`rate_limited`); see `Retry-After`.",
    503: "A backing service is unavailable or slow (`unavailable`, `deadline_exceeded`).",
}
# Every authenticated operation can meet these.
AUTHENTICATED_ERRORS: Final = (401, 403, 429, 503)
WRITE_ERRORS: Final = (400, 413, 415)


# The API conventions every /v1 operation follows, added to the OpenAPI document in one place
# (`document_api_limits`, called when the document is built) so no route can forget them.
IDEMPOTENCY_KEY_DESCRIPTION: Final = (
    "1-255 printable ASCII characters, unique per intended operation (e.g. a UUID). Repeating the request "
    "with the same key within 24 h returns the first response again, with `Idempotent-Replayed: true`, "
    "instead of running it twice; the same key with a different method, path, query or body is a 422. "
    "Keys belong to the caller (tenant, client and user). Responses 400, 401, 403, 413, 415, 429 and 5xx "
    "are not kept: a retry with the key runs again."
)
RATE_LIMIT_HEADERS: Final[dict[str, tuple[str, str]]] = {
    "RateLimit-Limit": ("Size of the tighter of the caller's token buckets (per client, per tenant).", "integer"),
    "RateLimit-Remaining": ("Requests left in that bucket now.", "integer"),
    "RateLimit-Reset": ("Seconds until that bucket is full again.", "integer"),
}
IDEMPOTENCY_ERRORS: Final[dict[str, str]] = {
    "400": " `invalid_idempotency_key`: the `Idempotency-Key` header is not 1-255 printable ASCII characters.",
    "409": (" `idempotency_key_in_use`: the first request with this `Idempotency-Key` is still running (see "
            "`Retry-After`); `idempotency_response_too_large`: it ran, but its response was too large to keep."),
}
IDEMPOTENCY_MISMATCH: Final = (
    "The `Idempotency-Key` was used for a different request (method, path, query or body): "
    "`idempotency_key_mismatch`."
)
HTTP_METHODS: Final = ("get", "post", "put", "patch", "delete")


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}


def document_api_limits(schema: dict[str, Any]) -> dict[str, Any]:
    """Every authenticated /v1 operation: 429 with `Retry-After` and the `RateLimit-*` headers on
    each response; every such POST: the `Idempotency-Key` parameter and its 400/409/422 problems."""
    components = schema.setdefault("components", {})
    components.setdefault("headers", {}).update({
        name: {"description": description, "schema": {"type": kind}}
        for name, (description, kind) in RATE_LIMIT_HEADERS.items()
    } | {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}})
    components.setdefault("parameters", {})["IdempotencyKey"] = {
        "name": "Idempotency-Key", "in": "header", "required": False, "description": IDEMPOTENCY_KEY_DESCRIPTION,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~][ -~]*$"},
    }
    rate_headers = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_HEADERS}
    for path, path_item in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, op in path_item.items():
            if method not in HTTP_METHODS or not op.get("security"):
                continue  # without a token nothing is charged or recorded (POST /v1/signup)
            responses: dict[str, Any] = op.setdefault("responses", {})
            responses.setdefault("429", {"description": ERROR_DESCRIPTIONS[429], "content": _problem_content()})
            responses["429"].setdefault("headers", {})["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
            if method == "post":
                op.setdefault("parameters", []).append({"$ref": "#/components/parameters/IdempotencyKey"})
                for status, description in IDEMPOTENCY_ERRORS.items():
                    if status in responses:
                        responses[status]["description"] += description
                    else:
                        responses[status] = {"description": description.strip(), "content": _problem_content()}
                responses["422"] = {"description": IDEMPOTENCY_MISMATCH, "content": _problem_content()}
            for response in responses.values():
                response.setdefault("headers", {}).update(rate_headers)
    return schema


# Schemas whose strings carry no rule of their own: formats with their own grammar and enums.
_OWN_GRAMMAR: Final = ("pattern", "enum", "const", "format")


def _add_line_pattern(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Every plain string in a request schema (through $refs, properties, items, anyOf...) gets
    the single-line pattern, unless it declares its own grammar (a `Name`/`Multiline` pattern, a
    format, an enum)."""
    if isinstance(node, list):
        for item in node:
            _add_line_pattern(item, components, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            _add_line_pattern(components.get(name), components, seen)
        return
    if node.get("type") == "string" and not any(key in node for key in _OWN_GRAMMAR if node.get(key) != "password"):
        node["pattern"] = text.json_schema_pattern(text.TextKind.LINE)
    for key in ("properties", "patternProperties"):
        for child in (node.get(key) or {}).values():
            _add_line_pattern(child, components, seen)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
        if key in node:
            _add_line_pattern(node[key], components, seen)


def document_text_rule(schema: dict[str, Any]) -> dict[str, Any]:
    """The text rule in the OpenAPI document: each request string's `pattern` says which characters
    it may hold (docs/api.md, "Text input"), so clients and fuzzers know before sending."""
    components = schema.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for path_item in schema.get("paths", {}).values():
        for method, op in path_item.items():
            if method not in HTTP_METHODS:
                continue
            for parameter in op.get("parameters", []):
                if parameter.get("in") in ("query", "path"):
                    _add_line_pattern(parameter.get("schema"), components, seen)
            for media in (op.get("requestBody") or {}).get("content", {}).values():
                _add_line_pattern(media.get("schema"), components, seen)
    return schema


def error_responses(statuses: Iterable[int]) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ProblemDetails, "description": ERROR_DESCRIPTIONS[s]} for s in sorted(set(statuses))}


def operation(
    *,
    operation_id: str,
    summary: str,
    scopes: Sequence[Scope],
    errors: Iterable[int] = (),
    status_code: int = 200,
    description: str | None = None,
    any_scope: bool = False,
) -> dict[str, Any]:
    """Route keyword arguments: operationId, summary, required scopes (as the OAuth security
    requirement, for the token and scope check at the gateway and OpenAPI, and as
    `x-required-scopes`; `any_scope`: one of them suffices, `x-any-scope: true`) and the problem
    responses the operation can return."""
    scope_names = [s.value for s in scopes]
    # 400 on every operation: every query and path parameter is held to the text rule.
    statuses = set(errors) | {400} | ({*AUTHENTICATED_ERRORS} if scopes else {503})
    kwargs: dict[str, Any] = {
        "operation_id": operation_id,
        "summary": summary,
        "status_code": status_code,
        "responses": error_responses(statuses),
        "openapi_extra": {"x-required-scopes": scope_names, **({"x-any-scope": True} if any_scope else {})},
    }
    if description:
        kwargs["description"] = description
    # Authentication and the scope check first (401/403 before 400), then the text rule on every query
    # and path parameter.
    auth = [Security(authenticate_any if any_scope else authenticate, scopes=scope_names)] if scopes else []
    kwargs["dependencies"] = [*auth, PARAMETER_TEXT]
    return kwargs


INT32_MAX: Final = 2**31 - 1
# For integer fields that travel as proto int32: out of range is bad input, not a crash.
Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]


# -- the text rule (crm_platform.text) on every request field, query and path parameter ---------------


@dataclass(frozen=True)
class TextRule:
    """Marks a request string's kind (`Name`, `Multiline`); unmarked strings are single-line text.
    Checked by `RequestBody`; documented as the kind's `pattern` (unmarked strings get theirs from
    `document_text_rule`)."""

    kind: text.TextKind

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = text.json_schema_pattern(self.kind)
        if self.kind is text.TextKind.NAME:
            # A name is never empty: the services answer `required` (or `empty_after_cleaning`).
            schema["minLength"] = max(int(schema.get("minLength", 1)), 1)
            schema["x-text"] = "name: at least one visible character, no direction overrides"
        return schema


Name = Annotated[str, TextRule(text.TextKind.NAME)]
Multiline = Annotated[str, TextRule(text.TextKind.MULTILINE)]


def _rules(annotation: Any) -> Iterator[TextRule]:
    """TextRules anywhere in a type: `Name`, `Name | None`, `list[Name]`."""
    yield from (m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, TextRule))
    for argument in get_args(annotation):
        yield from _rules(argument)


def field_kind(field: FieldInfo | None) -> text.TextKind:
    if field is None:
        return text.TextKind.LINE
    rule = next((m for m in field.metadata if isinstance(m, TextRule)), None) or next(_rules(field.annotation), None)
    return rule.kind if rule is not None else text.TextKind.LINE


def _strings(value: Any, kind: text.TextKind, path: str = "") -> Iterator[tuple[str, str, text.TextKind]]:
    if isinstance(value, str):
        yield path, value, kind
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _strings(item, kind, f"{path}[{index}]")
    elif isinstance(value, dict):
        yield from text.json_strings(value, path)  # custom field values by key


def check_value_text(value: Any, kind: text.TextKind) -> None:
    """Raises the pydantic error `invalid_characters` / `empty_after_cleaning` (see problems.py)."""
    for path, item, item_kind in _strings(value, kind):
        problem = text.text_problem(item, item_kind)
        if problem is not None:
            code, message = problem
            where = f" ({path})" if path else ""
            raise PydanticCustomError(code, f"{message}{where}", {"path": path})


class RequestBody(BaseModel):
    """Request bodies reject unknown fields, so a typo is a 400 rather than silently dropped, and
    hold every string to the text rule (single-line unless marked `Name` or `Multiline`)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any, info: ValidationInfo) -> Any:
        check_value_text(value, field_kind(cls.model_fields.get(info.field_name or "")))
        return value


def parameter_text_errors(request: Request) -> list[dict[str, str]]:
    """Every query parameter (names too) and path parameter that breaks the single-line rule."""
    values: list[tuple[str, str, text.TextKind]] = []
    for name, value in request.query_params.multi_items():
        shown = text.printable(name)  # a bad name is reported, never echoed
        values += [(shown, name, text.TextKind.LINE), (shown, value, text.TextKind.LINE)]
    values += [(name, str(value), text.TextKind.LINE) for name, value in request.path_params.items()]
    return [error.as_dict() for error in text.field_errors(values)]


async def check_parameter_text(request: Request) -> None:
    """Async although it awaits nothing: FastAPI runs a plain `def` dependency in a worker thread,
    a thread hop on every request of every operation."""
    errors = parameter_text_errors(request)
    if errors:
        raise Problem(400, "invalid_input", errors=[{**e, "message": ""} for e in errors],
                      params={"count": len(errors)})


# In every operation's dependencies (`operation` adds it; routes that set their own list add it too).
PARAMETER_TEXT: Final = Depends(check_parameter_text)


class Resource(BaseModel):
    pass


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = Field(
        None,
        description="Pass as `page_token` for the next page; absent on the last page.",
        exclude_if=lambda value: not value,
    )


class ItemList(BaseModel, Generic[T]):
    """A complete (unpaged) collection."""

    items: list[T]


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, description=f"At most {MAX_PAGE_SIZE}; larger values are capped.")
    page_token: str = Field("", description="`next_page_token` of the previous page.")

    @property
    def size(self) -> int:
        return min(self.page_size, MAX_PAGE_SIZE)


def page(items: list[T], next_page_token: str) -> Page[T]:
    return Page[T](items=items, next_page_token=next_page_token or None)


def json_reply(body: Any, *, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON reply serialised at once (pydantic-core, as a response model would: datetimes in RFC
    3339 with `Z`), for hot reads whose body is already the route's `response_model` shape (its
    fields in order, `exclude_if` fields left out): the model still documents the route, but is not
    built and validated again for every item. Each user has a test that the model gives the same
    document (tests/gateway/test_customer_reply.py)."""
    return Response(to_json(body), status_code=status_code, headers=headers, media_type="application/json")


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(value: Any) -> datetime | None:
    """A google.protobuf.Timestamp as an aware UTC datetime (RFC 3339 with `Z` in JSON); unset -> None.
    What `value.ToDatetime(tzinfo=UTC)` gives (nanos are never negative, so truncating is its
    rounding toward zero), at a third of its cost: a list page has two per customer
    (tests/gateway/test_customer_reply.py)."""
    if value is None or (value.seconds == 0 and value.nanos == 0):
        return None
    return _EPOCH + timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


def expected_version(if_match: str | None) -> int:
    """The version an `If-Match: W/"<version>"` header expects; PATCH without one is a 428."""
    if if_match is None or not if_match.strip():
        raise Problem(428, "precondition_required")
    match = _ETAG.match(if_match)
    if match is None:
        raise Problem(
            400, "invalid_input", params={"count": 1},
            errors=[{"field": "If-Match", "code": "invalid_etag", "message": ""}],
        )
    return int(match.group(1))
