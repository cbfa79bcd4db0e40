"""Hostile text never reaches a 500 (docs/api.md, "Text input").

The sweep is generated from the live `/openapi.json`: every string the document marks with a text
rule `pattern` (request body fields at any depth, query and path parameters, OAuth form fields)
gets NUL, a C0 and a C1 control; names also get a direction override and a zero-width-only value.
Each must be a 400 naming the field with `invalid_characters` / `empty_after_cleaning` (OAuth:
RFC 6749 `invalid_request`), and nothing may be written. New operations are covered by being in
the document. The services refuse the same input on their own (zero trust), tested over gRPC."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import grpc
import httpx
import pytest

from crm_dev.platform import Platform
from crm_platform.errors import ERROR_METADATA_KEY
from crm_platform.grpc_client import call_metadata
from crm_platform.text import TextKind, json_schema_pattern
from crm_proto.crm.customers.v1 import customers_pb2, customers_pb2_grpc
from crm_proto.crm.followups.v1 import followups_pb2, followups_pb2_grpc
from crm_proto.crm.identity.v1 import identity_pb2, identity_pb2_grpc
from crm_proto.crm.tagging.v1 import tagging_pb2, tagging_pb2_grpc
from crm_proto.crm.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from tests.conftest import TenantContext

KINDS = {json_schema_pattern(kind): kind for kind in TextKind}
FORM = "application/x-www-form-urlencoded"
# (label, value, kinds it is refused in, expected code)
HOSTILE: list[tuple[str, str, set[TextKind], str]] = [
    ("nul", "ok\x00ok", set(TextKind), "invalid_characters"),
    ("c0", "ok\x07ok", set(TextKind), "invalid_characters"),
    ("c1", "ok\x85ok", set(TextKind), "invalid_characters"),
    ("newline", "ok\nok", {TextKind.LINE, TextKind.NAME}, "invalid_characters"),
    ("bidi", "abc\u202eexe.txt", {TextKind.NAME}, "invalid_characters"),
    ("zero_width", "\u200b\u200d", {TextKind.NAME}, "empty_after_cleaning"),
]


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    where: str  # body, query, path, form
    field: list[str | int]  # where in the body / the parameter's name
    kind: TextKind

    @property
    def field_name(self) -> str:
        out = ""
        for part in self.field:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        return out


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _text_kind(schema: dict[str, Any], document: dict[str, Any]) -> TextKind | None:
    schema = _resolve(schema, document)
    for option in [schema, *schema.get("anyOf", [])]:
        option = _resolve(option, document)
        if option.get("type") == "string" and option.get("pattern") in KINDS:
            return KINDS[option["pattern"]]
    return None


def _body_fields(schema: dict[str, Any], document: dict[str, Any], at: list[str | int],
                 depth: int = 0) -> Iterator[tuple[list[str | int], TextKind]]:
    kind = _text_kind(schema, document)
    if kind is not None:
        yield at, kind
        return
    if depth > 4:
        return
    schema = _resolve(schema, document)
    for option in [schema, *schema.get("anyOf", [])]:
        option = _resolve(option, document)
        if option.get("type") == "array" and "items" in option:
            yield from _body_fields(option["items"], document, [*at, 0], depth + 1)
        for name, child in (option.get("properties") or {}).items():
            yield from _body_fields(child, document, [*at, name], depth + 1)
        if option.get("type") == "object" and option.get("additionalProperties") is True and at:
            yield [*at, "key"], TextKind.MULTILINE  # custom field values by key


def probes(document: dict[str, Any]) -> list[Probe]:
    found: list[Probe] = []
    for path, item in document["paths"].items():
        if not (path.startswith("/v1/") or path.startswith("/oauth/")):
            continue
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for parameter in op.get("parameters", []):
                if parameter.get("in") not in ("query", "path"):
                    continue
                schema = parameter.get("schema", {})
                kind = _text_kind(schema.get("items", schema) if schema.get("type") == "array" else schema, document)
                if kind is not None:
                    found.append(Probe(method, path, parameter["in"], [parameter["name"]], kind))
            for media, content in (op.get("requestBody") or {}).get("content", {}).items():
                where = "form" if media == FORM else "body" if media == "application/json" else None
                if where is None:
                    continue
                for field, kind in _body_fields(content["schema"], document, []):
                    if field:
                        found.append(Probe(method, path, where, field, kind))
    return found


def _nest(field: list[str | int], value: Any) -> Any:
    for part in reversed(field):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def send(http: httpx.Client, probe: Probe, value: str) -> httpx.Response:
    """One request with `value` in the probed place; every other path parameter a harmless placeholder."""
    path = probe.path
    if probe.where == "path":
        path = path.replace(f"{{{probe.field[0]}}}", quote(value, safe=""))
    for name in re.findall(r"\{([^}]+)\}", path):
        path = path.replace(f"{{{name}}}", "placeholder")
    method = probe.method.upper()
    empty_body = {} if probe.method in ("post", "patch", "put") else None
    if probe.where == "path":
        return http.request(method, path, json=empty_body)
    if probe.where == "query":
        return http.request(method, path, params={str(probe.field[0]): value}, json=empty_body)
    if probe.where == "form":
        form = {"grant_type": "client_credentials", "token": "t", "client_id": "c", "client_secret": "s"}
        return http.post(path, data=form | {str(probe.field[0]): value})
    return http.request(method, path, json=_nest(probe.field, value))


def snapshot(http: httpx.Client, document: dict[str, Any]) -> dict[str, Any]:
    """Every list of the tenant that needs no parameter: what a sweep must leave as it was."""
    lists: dict[str, Any] = {}
    for path, item in document["paths"].items():
        op = item.get("get")
        if not path.startswith("/v1/") or "{" in path or op is None or path.endswith(":export"):
            continue
        if any(p.get("required") for p in op.get("parameters", [])):
            continue
        reply = http.get(path)
        if reply.status_code == 200 and reply.headers["content-type"].startswith("application/json"):
            body = reply.json()
            if isinstance(body, dict) and isinstance(body.get("items"), list):
                lists[path] = sorted(json.dumps(i.get("id", i), sort_keys=True) if isinstance(i, dict) else
                                     json.dumps(i) for i in body["items"])
    return lists


@pytest.fixture(scope="module")
def document(api: Any) -> dict[str, Any]:
    return httpx.get(f"{api.base_url}/openapi.json", timeout=30).json()  # type: ignore[no-any-return]


def test_the_sweep_reaches_every_kind_of_input(document: dict[str, Any]) -> None:
    """The generator finds what it must: body fields (nested too), query, path and OAuth form
    fields, names and long text; so the sweep below cannot pass by testing nothing."""
    found = probes(document)
    wheres = {p.where for p in found}
    assert wheres == {"body", "query", "path", "form"}, wheres
    by_field = {(p.method, p.path, p.field_name): p.kind for p in found}
    assert by_field[("post", "/v1/customers", "name")] is TextKind.NAME
    assert by_field[("post", "/v1/customers", "notes")] is TextKind.MULTILINE
    assert by_field[("post", "/v1/customers", "email")] is TextKind.LINE
    assert ("post", "/v1/orders:batch-upsert", "orders[0].items[0].name") in by_field
    assert ("get", "/v1/customers", "q") in by_field
    assert ("post", "/oauth/token", "client_secret") in by_field
    assert ("post", "/oauth/introspect", "token") in by_field
    assert len({(p.method, p.path) for p in found}) > 60


def test_hostile_text_is_refused_everywhere_and_nothing_is_written(
    tenant: TenantContext, document: dict[str, Any]
) -> None:
    http = httpx.Client(base_url=tenant.api.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {tenant.admin_token}"})
    before = snapshot(http, document)
    failures: list[str] = []
    for probe in probes(document):
        for label, value, refused_in, code in HOSTILE:
            if probe.kind not in refused_in:
                continue
            if probe.where == "path" and label == "zero_width":
                continue
            reply = send(http, probe, value)
            where = f"{probe.method.upper()} {probe.path} {probe.where}:{probe.field_name} [{label}]"
            if probe.where == "form":
                if reply.status_code != 400 or reply.json().get("error") != "invalid_request":
                    failures.append(f"{where}: {reply.status_code} {reply.text[:200]}")
                continue
            errors = reply.json().get("errors", []) if reply.headers.get("content-type", "").startswith(
                "application/problem+json") else []
            if reply.status_code != 400 or not any(
                e["code"] == code and e["field"] == probe.field_name for e in errors
            ):
                failures.append(f"{where}: {reply.status_code} {reply.text[:300]}")
    assert not failures, f"{len(failures)} probes not refused as expected:\n" + "\n".join(failures[:40])
    assert snapshot(http, document) == before


# -- the services refuse it themselves (they are reachable over gRPC) ----------------------------------


def _refusal(call: Any, request: Any, metadata: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, metadata=metadata, timeout=10)
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    detail = dict(error.trailing_metadata())[ERROR_METADATA_KEY]
    errors: list[dict[str, str]] = json.loads(detail)["errors"]
    return errors


def test_each_service_refuses_hostile_text_over_grpc(platform: Platform, tenant: TenantContext) -> None:
    metadata = call_metadata(tenant.admin_token, "en")
    with grpc.insecure_channel(platform.addr("customers")) as channel:
        customers = customers_pb2_grpc.CustomerServiceStub(channel)
        errors = _refusal(customers.CreateCustomer, customers_pb2.CreateCustomerRequest(
            customer=customers_pb2.CustomerInput(name="Acme\u202e", notes="ok\nfine\x00", mobile="13800138000")),
            metadata)
        assert {(e["field"], e["code"]) for e in errors} == {
            ("customer.name", "invalid_characters"), ("customer.notes", "invalid_characters")}
        errors = _refusal(customers.ListCustomers, customers_pb2.ListCustomersRequest(q="a\x00"), metadata)
        assert errors[0]["field"] == "q"
        # Long text keeps its line breaks: the same notes without the NUL are accepted.
        created = customers.CreateCustomer(customers_pb2.CreateCustomerRequest(
            customer=customers_pb2.CustomerInput(name="Acme", notes="ok\nfine\ttab", mobile="13800138000")),
            metadata=metadata, timeout=10)
        assert created.notes == "ok\nfine\ttab"
    with grpc.insecure_channel(platform.addr("identity")) as channel:
        identity = identity_pb2_grpc.IdentityServiceStub(channel)
        errors = _refusal(identity.CreateTeam, identity_pb2.CreateTeamRequest(name="\u200b"), metadata)
        assert errors == [{"field": "name", "code": "empty_after_cleaning", "message": "has no visible characters"}]
        # A public method (no token) is checked too.
        errors = _refusal(identity.CreateTenant, identity_pb2.CreateTenantRequest(
            name="Co", slug="bad\x00slug", admin_email="a@example.com", admin_password="x" * 20,
            admin_display_name="A"), ())
        assert errors[0]["field"] == "slug"
    with grpc.insecure_channel(platform.addr("tagging")) as channel:
        errors = _refusal(tagging_pb2_grpc.TaggingServiceStub(channel).CreateTag,
                          tagging_pb2.CreateTagRequest(name="vip\x85"), metadata)
        assert errors[0]["field"] == "name"
    with grpc.insecure_channel(platform.addr("followups")) as channel:
        errors = _refusal(followups_pb2_grpc.FollowupServiceStub(channel).CreateTask,
                          followups_pb2.CreateTaskRequest(customer_id="c", title="call\x00"), metadata)
        assert errors[0]["field"] == "title"
    with grpc.insecure_channel(platform.addr("webhooks")) as channel:
        errors = _refusal(webhooks_pb2_grpc.WebhookServiceStub(channel).CreateEndpoint,
                          webhooks_pb2.CreateEndpointRequest(url="https://x.example/\x00"), metadata)
        assert errors[0]["field"] == "url"


def test_the_authorization_page_refuses_hostile_parameters_on_its_own_page(tenant: TenantContext) -> None:
    """/oauth/authorize is not in the OpenAPI document (it is a page): identity's edge refuses the
    text, and the page answers 400 without redirecting anywhere."""
    http = httpx.Client(base_url=tenant.api.base_url, timeout=30, follow_redirects=False)
    reply = http.get("/oauth/authorize", params={"client_id": "crm-web\x00", "response_type": "code"})
    assert reply.status_code == 400 and reply.headers["content-type"].startswith("text/html")
    assert "\x00" not in reply.text
