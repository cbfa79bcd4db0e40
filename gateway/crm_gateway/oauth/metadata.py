"""Discovery (RFC 8414) and the public signing keys."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crm_gateway.api.common import AnonymousDep, BackendsDep, error_responses
from crm_gateway.settings import GatewaySettings
from crm_platform.auth import TENANT_SCOPES
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(tags=["oauth"])

JWKS_CACHE = "public, max-age=300"


def server_metadata(settings: GatewaySettings) -> dict[str, Any]:
    base = settings.public_url
    return {
        # The issuer is the `iss` identity writes into access tokens (RFC 9068 §2.2 needs them equal).
        "issuer": settings.token_issuer,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/oauth/jwks",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": [s.value for s in TENANT_SCOPES],
        # RFC 7009 and RFC 7662 (introspection: confidential clients only, so no "none").
        "revocation_endpoint": f"{base}/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": f"{base}/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        # RFC 9207: authorization responses carry `iss`, against mix-up attacks.
        "authorization_response_iss_parameter_supported": True,
        "service_documentation": f"{base}/docs",
    }


@router.get(
    "/.well-known/oauth-authorization-server",
    operation_id="getAuthorizationServerMetadata",
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
)
async def metadata(request: Request) -> JSONResponse:
    return JSONResponse(server_metadata(request.app.state.settings), headers={"Cache-Control": JWKS_CACHE})


@router.get(
    "/oauth/jwks",
    operation_id="getJwks",
    summary="Public keys that verify access tokens (JWK Set)",
    responses=error_responses([503]),
)
async def jwks(caller: AnonymousDep, services: BackendsDep) -> JSONResponse:
    reply = await caller.call(services.identity.GetJwks, pb.GetJwksRequest())
    return JSONResponse(json.loads(reply.jwks_json), headers={"Cache-Control": JWKS_CACHE})
