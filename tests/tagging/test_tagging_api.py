"""The tagging gRPC API through the real edge: validation, conflicts, scopes, pagination."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from crm_platform.errors import decode_rpc_error
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb
from crm_proto.crm.tagging.v1 import tagging_pb2_grpc

# Builds call metadata with an access token for (tenant, scopes); see conftest.token_for.
TokenFor = Callable[[uuid.UUID, list[str]], tuple[tuple[str, str], ...]]

MANAGE = ["tags:manage", "tags:read"]


def field_errors(error: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    return sorted((e["field"], e["code"]) for e in decode_rpc_error(error).errors)


async def rejected(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def test_create_tag_cleans_input_and_defaults_the_color(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md = token_for(tenant_id, MANAGE)

    vip = await tagging.CreateTag(pb.CreateTagRequest(name="  ＶＩＰ  ", color="#FFAA00"), metadata=md)
    plain = await tagging.CreateTag(pb.CreateTagRequest(name="Key account"), metadata=md)

    assert (vip.name, vip.color) == ("VIP", "#ffaa00")
    assert plain.color == "#3b82f6"
    uuid.UUID(vip.id)


@pytest.mark.parametrize(
    ("name", "color", "expected"),
    [
        ("", "", [("name", "required")]),
        ("   ", "", [("name", "required")]),
        ("x" * 51, "", [("name", "too_long")]),
        ("ok", "red", [("color", "invalid_color")]),
        ("ok", "#12345", [("color", "invalid_color")]),
        ("ok", "#1234567", [("color", "invalid_color")]),
        ("ok", "#gggggg", [("color", "invalid_color")]),
        ("", "blue", [("color", "invalid_color"), ("name", "required")]),
    ],
)
async def test_create_tag_rejects_bad_input_and_writes_nothing(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor,
    name: str, color: str, expected: list[tuple[str, str]],
) -> None:
    md = token_for(tenant_id, MANAGE)

    error = await rejected(tagging.CreateTag(pb.CreateTagRequest(name=name, color=color), metadata=md))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_errors(error) == expected
    assert list((await tagging.ListTags(pb.ListTagsRequest(), metadata=md)).items) == []


async def test_a_fifty_character_name_is_allowed(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    tag = await tagging.CreateTag(pb.CreateTagRequest(name="标" * 50), metadata=token_for(tenant_id, MANAGE))
    assert len(tag.name) == 50


async def test_tag_names_are_unique_ignoring_case(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md = token_for(tenant_id, MANAGE)
    await tagging.CreateTag(pb.CreateTagRequest(name="VIP"), metadata=md)

    error = await rejected(tagging.CreateTag(pb.CreateTagRequest(name="vip"), metadata=md))

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    assert decode_rpc_error(error).code == "tag_name_taken"
    assert len((await tagging.ListTags(pb.ListTagsRequest(), metadata=md)).items) == 1


async def test_tag_names_are_unique_per_tenant_only(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor,
    provision_tenant: Callable[[], uuid.UUID],
) -> None:
    other_tenant = provision_tenant()
    await tagging.CreateTag(pb.CreateTagRequest(name="VIP"), metadata=token_for(tenant_id, MANAGE))

    theirs = await tagging.CreateTag(pb.CreateTagRequest(name="VIP"), metadata=token_for(other_tenant, MANAGE))
    listed = await tagging.ListTags(pb.ListTagsRequest(), metadata=token_for(other_tenant, MANAGE))

    assert [t.id for t in listed.items] == [theirs.id]


async def test_scopes_are_enforced(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    reader = token_for(tenant_id, ["tags:read"])

    denied = await rejected(tagging.CreateTag(pb.CreateTagRequest(name="VIP"), metadata=reader))
    anonymous = await rejected(tagging.ListTags(pb.ListTagsRequest()))

    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED
    assert list((await tagging.ListTags(pb.ListTagsRequest(), metadata=reader)).items) == []


async def test_list_tags_pages_with_opaque_tokens(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md = token_for(tenant_id, MANAGE)
    created = [await tagging.CreateTag(pb.CreateTagRequest(name=f"tag {i}"), metadata=md) for i in range(5)]

    seen: list[str] = []
    token = ""
    while True:
        page = await tagging.ListTags(pb.ListTagsRequest(page_size=2, page_token=token), metadata=md)
        seen += [t.id for t in page.items]
        token = page.next_page_token
        if not token:
            break

    assert seen == [t.id for t in created]
    tampered = await rejected(tagging.ListTags(pb.ListTagsRequest(page_token="x" + token + "abc"), metadata=md))
    assert field_errors(tampered) == [("page_token", "invalid_page_token")]


async def test_create_rule_validates_every_field(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md = token_for(tenant_id, MANAGE)
    tag = await tagging.CreateTag(pb.CreateTagRequest(name="VIP"), metadata=md)
    cases: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
        ({"tag_id": ""}, [("tag_id", "required")]),
        ({"tag_id": "not-an-id"}, [("tag_id", "invalid_id")]),
        ({"tag_id": str(uuid.uuid4())}, [("tag_id", "not_found")]),
        ({"field": "owner_id"}, [("field", "invalid_choice")]),
        ({"field": ""}, [("field", "invalid_choice")]),
        ({"operator": "startswith"}, [("operator", "invalid_choice")]),
        ({"value": "  "}, [("value", "required")]),
        ({"value": "v" * 201}, [("value", "too_long")]),
        ({"tag_id": "", "field": "x", "operator": "y", "value": ""},
         [("field", "invalid_choice"), ("operator", "invalid_choice"), ("tag_id", "required"),
          ("value", "required")]),
    ]
    for overrides, expected in cases:
        request = {"tag_id": tag.id, "field": "industry", "operator": "equals", "value": "IT", **overrides}
        error = await rejected(tagging.CreateTagRule(pb.CreateTagRuleRequest(**request), metadata=md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, overrides
        assert field_errors(error) == expected, overrides

    assert list((await tagging.ListTagRules(pb.ListTagRulesRequest(), metadata=md)).items) == []


async def test_create_and_list_rules(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md = token_for(tenant_id, MANAGE)
    tag = await tagging.CreateTag(pb.CreateTagRequest(name="Tech"), metadata=md)

    rule = await tagging.CreateTagRule(
        pb.CreateTagRuleRequest(tag_id=tag.id, field=" Industry ", operator="CONTAINS", value=" 科技 "), metadata=md
    )
    listed = await tagging.ListTagRules(pb.ListTagRulesRequest(), metadata=md)

    assert (rule.tag_id, rule.field, rule.operator, rule.value, rule.enabled) == (
        tag.id, "industry", "contains", "科技", True)
    assert [r.id for r in listed.items] == [rule.id]


async def test_list_customer_tags_needs_a_valid_customer_id(
    tagging: tagging_pb2_grpc.TaggingServiceStub, tenant_id: uuid.UUID, token_for: TokenFor
) -> None:
    md = token_for(tenant_id, ["tags:read"])

    blank = await rejected(tagging.ListCustomerTags(pb.ListCustomerTagsRequest(), metadata=md))
    malformed = await rejected(tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id="42"), metadata=md))
    unknown = await tagging.ListCustomerTags(pb.ListCustomerTagsRequest(customer_id=str(uuid.uuid4())), metadata=md)

    assert field_errors(blank) == [("customer_id", "required")]
    assert field_errors(malformed) == [("customer_id", "invalid_id")]
    assert list(unknown.items) == []
