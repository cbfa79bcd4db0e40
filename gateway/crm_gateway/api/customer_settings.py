"""/v1/customer-settings and /v1/dictionaries/{name}: a tenant's customer code pattern, status
transitions and dictionaries (industry, region tree, source)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response
from pydantic import Field

from crm_gateway.api.common import (
    WRITE_ERRORS,
    BackendsDep,
    CallerDep,
    Name,
    RequestBody,
    Resource,
    expected_version,
    operation,
    timestamp,
)
from crm_gateway.dictionary_names import display_label
from crm_gateway.i18n import Locale
from crm_gateway.problems import etag
from crm_platform.auth import Scope
from crm_proto.crm.customers.v1 import customers_pb2 as pb

router = APIRouter(tags=["customer settings"])

Status = Literal["potential", "intent", "won", "lost"]
DictionaryName = Literal["industry", "region", "source"]


class CustomerSettings(Resource):
    code_pattern: str = Field(
        description="Placeholders: {region} {industry} (dictionary short codes; region is the top level), "
                    "{year} {yy} {month} {day}, and one {seq} or {seq:0N} (a counter per rendered prefix)"
    )
    status_transitions: dict[str, list[str]] = Field(description="from status -> statuses it may move to")
    enforce_dictionaries: bool = Field(description="Industry and region must be dictionary entries")
    duplicate_policy: str = Field(
        "warn", description='Likely duplicates on create/update: "warn" (saved, listed in `possible_duplicates`) '
                            'or "block" (409 `duplicate_customer` unless an admin sends `allow_duplicates`)'
    )
    version: int
    updated_at: datetime | None


def settings_out(message: pb.CustomerSettings) -> CustomerSettings:
    return CustomerSettings(
        code_pattern=message.code_pattern,
        status_transitions={k: list(v.to) for k, v in sorted(message.status_transitions.items())},
        enforce_dictionaries=message.enforce_dictionaries, duplicate_policy=message.duplicate_policy or "warn",
        version=message.version,
        updated_at=timestamp(message.updated_at),
    )


class CustomerSettingsPatch(RequestBody):
    code_pattern: str | None = Field(None, max_length=64, examples=["{region}-{industry}-{year}-{seq:03}"])
    status_transitions: dict[Status, list[Status]] | None = None
    enforce_dictionaries: bool | None = None
    duplicate_policy: Literal["warn", "block"] | None = None


@router.get(
    "/v1/customer-settings",
    response_model=CustomerSettings,
    **operation(operation_id="getCustomerSettings", summary="Get the tenant's customer settings",
                scopes=[Scope.CUSTOMERS_ADMIN]),
)
async def get_settings(response: Response, caller: CallerDep, services: BackendsDep) -> CustomerSettings:
    reply = await caller.call(services.customers.GetCustomerSettings, pb.GetCustomerSettingsRequest())
    response.headers["ETag"] = etag(reply.version)
    return settings_out(reply)


@router.patch(
    "/v1/customer-settings",
    response_model=CustomerSettings,
    **operation(operation_id="updateCustomerSettings", summary="Change the tenant's customer settings",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[*WRITE_ERRORS, 412],
                description="`If-Match` is optional; `status_transitions` replaces the whole map."),
)
async def update_settings(
    body: CustomerSettingsPatch, response: Response, caller: CallerDep, services: BackendsDep,
    if_match: Annotated[str | None, Header(description="Optional ETag of the version you read")] = None,
) -> CustomerSettings:
    sent = body.model_dump(exclude_unset=True)
    request = pb.UpdateCustomerSettingsRequest(expected_version=expected_version(if_match) if if_match else 0)
    if sent.get("code_pattern") is not None:
        request.code_pattern = sent["code_pattern"]
    if sent.get("enforce_dictionaries") is not None:
        request.enforce_dictionaries = sent["enforce_dictionaries"]
    if sent.get("duplicate_policy") is not None:
        request.duplicate_policy = sent["duplicate_policy"]
    if sent.get("status_transitions") is not None:
        request.replace_status_transitions = True
        for source, targets in sent["status_transitions"].items():
            request.status_transitions[source].to.extend(targets)
    reply = await caller.call(services.customers.UpdateCustomerSettings, request)
    response.headers["ETag"] = etag(reply.version)
    return settings_out(reply)


class DictionaryEntry(Resource):
    code: str = Field(description="Short code (1-16 letters, digits, _), used in customer codes")
    label: str = Field(description="What customers hold as their value (industry, region path parts)")
    label_en: str = Field("", description="English display name (empty: `label`)")
    label_zh: str = Field("", description="Chinese display name (empty: `label`)")
    display_label: str = Field(description="Read-only: the name in the request's language (Accept-Language)")
    parent: str | None = Field(None, description="Parent entry's code (region only)")
    path: str | None = Field(None, description='Region only: labels from the root, e.g. "华北/北京"')


class Dictionary(Resource):
    name: str
    entries: list[DictionaryEntry]


class DictionaryEntryIn(RequestBody):
    code: str = Field(max_length=16)
    label: Name = Field(max_length=100)
    label_en: str = Field("", max_length=100)
    label_zh: str = Field("", max_length=100)
    parent: str | None = Field(None, max_length=16)


class DictionaryReplace(RequestBody):
    entries: list[DictionaryEntryIn] = Field(max_length=2000)


def dictionary_out(message: pb.Dictionary, locale: Locale) -> Dictionary:
    return Dictionary(name=message.name, entries=[
        DictionaryEntry(code=e.code, label=e.label, label_en=e.label_en, label_zh=e.label_zh,
                        display_label=display_label(e, locale), parent=e.parent or None, path=e.path or None)
        for e in message.entries
    ])


@router.get(
    "/v1/dictionaries/{name}",
    response_model=Dictionary,
    **operation(operation_id="getDictionary", summary="Get a dictionary (industry, region or source)",
                scopes=[Scope.CUSTOMERS_READ], errors=[404]),
)
async def get_dictionary(name: str, caller: CallerDep, services: BackendsDep) -> Dictionary:
    return dictionary_out(await caller.call(services.customers.GetDictionary, pb.GetDictionaryRequest(name=name)),
                          caller.locale)


@router.put(
    "/v1/dictionaries/{name}",
    response_model=Dictionary,
    **operation(operation_id="replaceDictionary", summary="Replace every entry of a dictionary",
                scopes=[Scope.CUSTOMERS_ADMIN], errors=[*WRITE_ERRORS, 404],
                description="Entries keep the order given. Region entries may name a `parent`; industry and "
                            "source are flat. Existing customers keep the values they have."),
)
async def replace_dictionary(name: str, body: DictionaryReplace, caller: CallerDep,
                             services: BackendsDep) -> Dictionary:
    request = pb.ReplaceDictionaryRequest(name=name, entries=[
        pb.DictionaryEntry(code=e.code, label=e.label, label_en=e.label_en, label_zh=e.label_zh, parent=e.parent or "")
        for e in body.entries
    ])
    return dictionary_out(await caller.call(services.customers.ReplaceDictionary, request), caller.locale)
