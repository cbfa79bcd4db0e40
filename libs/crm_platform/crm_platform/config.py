"""Settings shared by every deployable. Each service subclasses with its own env prefix."""

from __future__ import annotations

from typing import Literal

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
    # Outgoing mail (crm_platform/mail.py), used by services that send mail. Without a host, mail
    # waits in the service's mail outbox and goes out once a host is set.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    # An extra CA bundle for a relay with a private certificate.
    smtp_ca_file: str = ""
    smtp_timeout: float = 15.0
    mail_from: str = "no-reply@crm.local"
    mail_from_name: str = "CRM"
