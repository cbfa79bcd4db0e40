"""Settings shared by every deployable. Each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every gRPC service needs. Subclasses set `env_prefix="CRM_<NAME>_"`.

    Required values have no default, so a missing one fails at start-up naming the variable.
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    database_url: str = Field(description="postgresql+psycopg://user@host:port/db, one database per service")
    nats_url: str = "nats://127.0.0.1:4222"
    identity_addr: str = Field(description="host:port of identity's gRPC server (JWKS)")
    token_issuer: str = "crm-identity"
    token_audience: str = "crm-api"
    log_level: str = "INFO"
    # HMAC key for list page tokens; set the same value on every replica.
    page_token_key: str = ""
    db_pool_size: int = 10
    # Seconds to wait for in-flight RPCs on shutdown.
    shutdown_grace: float = 5.0
