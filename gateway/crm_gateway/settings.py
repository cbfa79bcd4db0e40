"""Gateway settings (env prefix `CRM_GATEWAY_`). Required peers and secrets have no default, so a
missing one stops the process at start-up with the variable's name."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ONE_MIB = 1024 * 1024


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_GATEWAY_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Worker processes serving HTTP (uvicorn workers): one per core the gateway may use. Each holds
    # its own gRPC channels and token cache; the rate-limit budget is split between them.
    workers: int = Field(1, ge=1, le=64)
    public_url: str = Field(description="Absolute URL browsers and API clients reach the gateway at")
    session_secret: SecretStr = Field(description="HMAC key for session, PKCE and CSRF cookies (>= 32 chars)")
    identity_addr: str = Field(description="host:port of identity's gRPC server")
    customers_addr: str = Field(description="host:port of customers' gRPC server")
    tagging_addr: str = Field(description="host:port of tagging's gRPC server")
    followups_addr: str = Field(description="host:port of followups' gRPC server")
    reporting_addr: str = Field(description="host:port of reporting's gRPC server")
    webhooks_addr: str = Field(description="host:port of webhooks' gRPC server")
    # Idempotency-Key records live in a JetStream key-value bucket, shared by every replica.
    nats_url: str = Field(description="NATS JetStream URL (idempotency records), e.g. nats://nats:4222")
    token_issuer: str = "crm-identity"
    token_audience: str = "crm-api"
    log_level: str = "INFO"
    # The platform's public OAuth client for the web UI; identity creates it at start-up.
    web_client_id: str = "crm-web"
    # Empty asks identity for everything the client and the user's roles allow.
    web_scopes: str = ""
    max_body_bytes: int = ONE_MIB
    # Seconds a gRPC call may take before the gateway answers 503.
    rpc_deadline: float = 5.0
    # Idempotency-Key: how long a first request holds its key before another may take it over
    # (a replica that dies mid-request frees the key after this); longer than any request runs.
    idempotency_lock_seconds: int = Field(60, ge=5, le=3600)
    # Token buckets, per replica and in memory: sustained requests per second and burst size, per
    # API client (per user, for a user's token) and per tenant (all its clients together).
    rate_limit_client_per_second: float = Field(10.0, gt=0)
    rate_limit_client_burst: int = Field(50, ge=1)
    rate_limit_tenant_per_second: float = Field(50.0, gt=0)
    rate_limit_tenant_burst: int = Field(200, ge=1)
    # The local SMTP server's Maildir (crm_gateway/dev_mail.py), set only by the dev runner (`crm dev`,
    # the test platform): the developers' page of sent mail reads it. Empty: no such page.
    dev_mailbox_dir: str = ""

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("CRM_GATEWAY_PUBLIC_URL must be an absolute http(s) URL")
        return value.rstrip("/")

    @field_validator("session_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("CRM_GATEWAY_SESSION_SECRET must be at least 32 characters")
        return value

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` whenever the public URL is HTTPS."""
        return self.public_url.startswith("https://")

    @property
    def web_redirect_uri(self) -> str:
        return f"{self.public_url}/auth/callback"
