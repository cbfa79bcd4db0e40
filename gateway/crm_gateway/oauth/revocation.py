"""Token revocation (RFC 7009) and introspection (RFC 7662). Both take a form-encoded `token`
(+ optional `token_type_hint`) and authenticate the client as the token endpoint does (HTTP Basic
or `client_id`/`client_secret` in the body; public clients revoke with `client_id` alone).
Identity decides; this module parses and translates. Semantics and limits: docs/oauth.md."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.oauth.token import (
    FORM_TYPE,
    NO_STORE,
    OAUTH_ERROR_STATUSES,
    ClientCredentials,
    TokenError,
    client_credentials,
    oauth_responses,
    read_params,
    require,
    translate,
)
from crm_gateway.problems import UpstreamError
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(tags=["oauth"])

TOKEN_HINTS: Final = frozenset({"access_token", "refresh_token"})
INTROSPECTION_FIELDS: Final = ("scope", "client_id", "sub", "tid", "token_type", "jti", "iss", "aud")


INTROSPECTION_RESPONSE: Final[dict[str, Any]] = {
    "type": "object", "required": ["active"],
    "properties": {"active": {"type": "boolean"}, "exp": {"type": "integer"}, "iat": {"type": "integer"},
                   **{name: {"type": "string"} for name in INTROSPECTION_FIELDS}},
}


def _form_schema(description: str, success: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "responses": oauth_responses(success, OAUTH_ERROR_STATUSES),
        "requestBody": {
            "required": True,
            "content": {FORM_TYPE: {"schema": {
                "type": "object",
                "required": ["token"],
                "properties": {
                    "token": {"type": "string", "description": description},
                    "token_type_hint": {"type": "string", "enum": sorted(TOKEN_HINTS)},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                },
            }}},
        },
    }


def _client(request: Request, params: dict[str, str]) -> ClientCredentials:
    client = client_credentials(request, params)
    if not client.client_id:
        raise TokenError("invalid_client", "client authentication is required", basic_auth=client.basic)
    return client


@router.post(
    "/oauth/revoke",
    response_class=Response,  # RFC 7009 §2.2: an empty 200
    operation_id="revokeToken",
    summary="Revoke an access or refresh token (RFC 7009)",
    description=(
        "Always 200 for a well-formed request from an authenticated client, whether or not the token "
        "was known. Revoking a refresh token revokes every refresh token of the same grant. A revoked "
        "access token is reported inactive by introspection at once, but resource servers that only "
        "verify the signature accept it until it expires (at most 15 minutes by default)."
    ),
    openapi_extra=_form_schema("The access or refresh token to revoke", None),
)
async def revoke(request: Request, caller: AnonymousDep, services: BackendsDep) -> Response:
    client = ClientCredentials("", "", basic=False)
    try:
        params = await read_params(request)
        client = _client(request, params)
        require(params, "token")
        await caller.call(services.identity.RevokeToken, pb.RevokeTokenRequest(
            token=params["token"], token_type_hint=params.get("token_type_hint", ""),
            client_id=client.client_id, client_secret=client.client_secret,
        ))
    except TokenError as error:
        return error.response()
    except UpstreamError as exc:
        return translate(exc, client).response()
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/oauth/introspect",
    operation_id="introspectToken",
    summary="Introspect a token (RFC 7662; confidential clients of the token's tenant)",
    description=(
        'Answers `{"active": false}` for a token that is expired, revoked, forged, unknown or of '
        "another tenant; otherwise `active`, `scope`, `client_id`, `sub`, `exp`, `iat`, `tid`, `token_type`."
    ),
    openapi_extra=_form_schema("The access or refresh token to describe", INTROSPECTION_RESPONSE),
)
async def introspect(request: Request, caller: AnonymousDep, services: BackendsDep) -> JSONResponse:
    client = ClientCredentials("", "", basic=False)
    try:
        params = await read_params(request)
        client = _client(request, params)
        require(params, "token")
        reply = await caller.call(services.identity.IntrospectToken, pb.IntrospectTokenRequest(
            token=params["token"], token_type_hint=params.get("token_type_hint", ""),
            client_id=client.client_id, client_secret=client.client_secret,
        ))
    except TokenError as error:
        return error.response()
    except UpstreamError as exc:
        return translate(exc, client).response()
    if not reply.active:
        return JSONResponse({"active": False}, headers=NO_STORE)
    body: dict[str, Any] = {"active": True, "exp": reply.exp, "iat": reply.iat}
    body |= {name: getattr(reply, name) for name in INTROSPECTION_FIELDS if getattr(reply, name)}
    return JSONResponse(body, headers=NO_STORE)
