"""The token endpoint (RFC 6749 §3.2): form-encoded in, JSON out, errors as RFC 6749 §5.2
(`{"error": ..., "error_description": ...}`), never cached. Identity checks everything; this
module parses the request, authenticates nothing itself and translates the answer."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote_plus

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crm_gateway.api.common import AnonymousDep, BackendsDep
from crm_gateway.clients import Caller
from crm_gateway.problems import UpstreamError
from crm_platform import text
from crm_proto.crm.identity.v1 import identity_pb2 as pb

router = APIRouter(tags=["oauth"])

NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TOKEN_PARAMS: Final = (
    "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret", "scope", "refresh_token",
)
OAUTH_ERRORS: Final = frozenset({
    "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
    "invalid_scope",
})
# When identity sends a bare status, what it means for a token request.
STATUS_ERRORS: Final[dict[grpc.StatusCode, str]] = {
    grpc.StatusCode.UNAUTHENTICATED: "invalid_client",
    grpc.StatusCode.PERMISSION_DENIED: "unauthorized_client",
    grpc.StatusCode.INVALID_ARGUMENT: "invalid_grant",
    grpc.StatusCode.NOT_FOUND: "invalid_grant",
    grpc.StatusCode.FAILED_PRECONDITION: "invalid_grant",
}
FORM_TYPE: Final = "application/x-www-form-urlencoded"


def oauth_responses(success: dict[str, Any] | None, errors: dict[int, str]) -> dict[str, Any]:
    """OpenAPI responses of an OAuth endpoint: its JSON answer and RFC 6749 §5.2 error bodies
    (`application/json`, not problem+json)."""
    error_body = {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "error_description": {"type": "string"}}}
    responses: dict[str, Any] = {"200": {"description": "OK"}}
    if success is not None:
        responses["200"]["content"] = {"application/json": {"schema": success}}
    for status, description in errors.items():
        responses[str(status)] = {"description": description, "content": {"application/json": {"schema": error_body}}}
    return responses


OAUTH_ERROR_STATUSES: Final[dict[int, str]] = {
    400: "`invalid_request` (missing, repeated or malformed parameter, or characters the text rule refuses), "
         "`invalid_grant`, `unsupported_grant_type`, `invalid_scope`, `unauthorized_client`",
    401: "`invalid_client`: client authentication failed",
    503: "`temporarily_unavailable`: identity did not answer; retry (see `Retry-After`)",
}
TOKEN_RESPONSE: Final[dict[str, Any]] = {
    "type": "object", "required": ["access_token", "token_type", "expires_in", "scope"],
    "properties": {
        "access_token": {"type": "string"}, "token_type": {"type": "string"}, "expires_in": {"type": "integer"},
        "scope": {"type": "string"}, "refresh_token": {"type": "string"},
    },
}
TOKEN_FORM_SCHEMA: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {FORM_TYPE: {"schema": {
            "type": "object",
            "required": ["grant_type"],
            "properties": {name: {"type": "string"} for name in TOKEN_PARAMS},
        }}},
    },
    "responses": oauth_responses(TOKEN_RESPONSE, OAUTH_ERROR_STATUSES),
}


class TokenError(Exception):
    def __init__(self, error: str, description: str = "", *, basic_auth: bool = False):
        super().__init__(error)
        self.error = error
        self.description = description
        self.basic_auth = basic_auth

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        status = 400
        if self.error == "invalid_client":
            status = 401
            if self.basic_auth:
                headers["WWW-Authenticate"] = 'Basic realm="crm", charset="UTF-8"'
        elif self.error == "temporarily_unavailable":
            status = 503
            headers["Retry-After"] = "1"
        elif self.error == "server_error":
            status = 500
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return JSONResponse(body, status_code=status, headers=headers)


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    basic: bool


def basic_credentials(header: str) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: HTTP Basic with the id and secret form-urlencoded before base64."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TokenError("invalid_client", "malformed Basic credentials", basic_auth=True) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise TokenError("invalid_client", "malformed Basic credentials", basic_auth=True)
    credentials = unquote_plus(client_id), unquote_plus(secret)
    if any(text.text_problem(value) for value in credentials):
        raise TokenError("invalid_request", "the Basic credentials contain characters that are not allowed")
    return credentials


def client_credentials(request: Request, params: dict[str, str]) -> ClientCredentials:
    basic = basic_credentials(request.headers.get("authorization", ""))
    if basic is None:
        return ClientCredentials(params.get("client_id", ""), params.get("client_secret", ""), basic=False)
    if params.get("client_secret"):
        raise TokenError("invalid_request", "use one client authentication method, not two")
    if params.get("client_id") and params["client_id"] != basic[0]:
        raise TokenError("invalid_request", "client_id does not match the Basic credentials")
    return ClientCredentials(basic[0], basic[1], basic=True)


async def read_params(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != FORM_TYPE:
        raise TokenError("invalid_request", f"send the parameters as {FORM_TYPE}")
    form = await request.form()
    params: dict[str, str] = {}
    for key, value in form.multi_items():
        if text.text_problem(key):
            raise TokenError("invalid_request", "a parameter name contains characters that are not allowed")
        if key in params:
            raise TokenError("invalid_request", f"parameter {key} is repeated")
        if isinstance(value, str):
            # The text rule (crm_platform/text.py): RFC 6749 parameters are single-line text.
            if text.text_problem(value):
                raise TokenError("invalid_request", f"parameter {key} contains characters that are not allowed")
            params[key] = value
    return params


def require(params: dict[str, str], *names: str) -> None:
    missing = [n for n in names if not params.get(n)]
    if missing:
        raise TokenError("invalid_request", f"missing {', '.join(missing)}")


def translate(exc: UpstreamError, client: ClientCredentials) -> TokenError:
    error = exc.error
    if error.status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return TokenError("temporarily_unavailable", "please retry shortly")
    code = error.code if error.code in OAUTH_ERRORS else STATUS_ERRORS.get(error.status, "server_error")
    description = error.message if code != "server_error" else ""
    return TokenError(code, description, basic_auth=client.basic)


async def exchange(caller: Caller, services: Any, params: dict[str, str], client: ClientCredentials) -> Any:
    grant_type = params.get("grant_type", "")
    if grant_type == "authorization_code":
        require(params, "code", "redirect_uri", "code_verifier")
        if not client.client_id:
            raise TokenError("invalid_request", "missing client_id")
        return await caller.call(services.identity.ExchangeAuthorizationCode, pb.ExchangeAuthorizationCodeRequest(
            code=params["code"], client_id=client.client_id, client_secret=client.client_secret,
            redirect_uri=params["redirect_uri"], code_verifier=params["code_verifier"],
        ))
    if grant_type == "refresh_token":
        require(params, "refresh_token")
        if not client.client_id:
            raise TokenError("invalid_request", "missing client_id")
        return await caller.call(services.identity.RefreshAccessToken, pb.RefreshAccessTokenRequest(
            refresh_token=params["refresh_token"], client_id=client.client_id, client_secret=client.client_secret,
            scope=params.get("scope", ""),
        ))
    if grant_type == "client_credentials":
        if not client.client_id or not client.client_secret:
            raise TokenError("invalid_client", "client_credentials needs the client's id and secret",
                             basic_auth=client.basic)
        return await caller.call(services.identity.IssueClientToken, pb.IssueClientTokenRequest(
            client_id=client.client_id, client_secret=client.client_secret, scope=params.get("scope", ""),
        ))
    if not grant_type:
        raise TokenError("invalid_request", "missing grant_type")
    raise TokenError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")


@router.post(
    "/oauth/token",
    operation_id="issueToken",
    summary="Issue an access token (authorization_code with PKCE, refresh_token, or client_credentials)",
    openapi_extra=TOKEN_FORM_SCHEMA,
)
async def token(request: Request, caller: AnonymousDep, services: BackendsDep) -> JSONResponse:
    client = ClientCredentials("", "", basic=False)
    try:
        params = await read_params(request)
        client = client_credentials(request, params)
        reply = await exchange(caller, services, params, client)
    except TokenError as error:
        return error.response()
    except UpstreamError as exc:
        return translate(exc, client).response()
    body = {
        "access_token": reply.access_token,
        "token_type": reply.token_type or "Bearer",
        "expires_in": reply.expires_in,
        "scope": reply.scope,
    }
    if reply.refresh_token:
        body["refresh_token"] = reply.refresh_token
    return JSONResponse(body, headers=NO_STORE)
