"""The whole platform on one machine: infra, six services and the gateway as child processes.
Used by `crm dev` and by the test suite's session fixture (one start per test session)."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm_dev.infra import EmbeddedPostgres, NatsServer, _terminate, die_with_parent, free_port, terminate_all
from crm_dev.smtp_sink import SmtpSink

SERVICES = ("identity", "customers", "tagging", "followups", "reporting", "webhooks")
# Services that keep per-tenant schemas and are provisioned by identity at sign-up.
# The inbound address domain of `crm dev` and the tests (followups' inbound SMTP server).
INBOUND_DOMAIN = "inbound.localhost"
TENANT_SERVICES = ("customers", "tagging", "followups", "reporting", "webhooks")


def _load_or_create(path: Path, make: dict[str, object]) -> dict[str, object]:
    if path.exists():
        stored: dict[str, object] = json.loads(path.read_text())
        missing = {k: v for k, v in make.items() if k not in stored}
        if not missing:
            return stored
        stored.update(missing)
        make = stored
    path.write_text(json.dumps(make, indent=2))
    path.chmod(0o600)
    return make


@dataclass
class Platform:
    data_dir: Path
    gateway_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    # Gateway worker processes: one per core (at most 4 on a development machine).
    gateway_workers: int = field(default_factory=lambda: max(1, min(os.cpu_count() or 1, 4)))

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = self.data_dir / "logs"
        self.log_dir.mkdir(exist_ok=True)
        # Ports and secrets persist with the data, so a restart finds the same platform.
        self.ports: dict[str, int] = {
            k: int(str(v))
            for k, v in _load_or_create(
                self.data_dir / "ports.json",
                {
                    "postgres": free_port(),
                    "nats": free_port(),
                    "gateway": self.gateway_port or free_port(),
                    "smtp": free_port(),
                    # followups' inbound SMTP server (email into the timeline)
                    "inbound_smtp": free_port(),
                    **{name: free_port() for name in SERVICES},
                },
            ).items()
        }
        if self.gateway_port:
            self.ports["gateway"] = self.gateway_port
        self.secrets = {
            k: str(v)
            for k, v in _load_or_create(
                self.data_dir / "secrets.json",
                {
                    "master_key": base64.b64encode(secrets.token_bytes(32)).decode(),
                    "webhook_secret_key": base64.b64encode(secrets.token_bytes(32)).decode(),
                    "session_secret": secrets.token_urlsafe(32),
                    "page_token_key": secrets.token_urlsafe(32),
                },
            ).items()
        }
        self.postgres = EmbeddedPostgres(self.data_dir / "pg", self.ports["postgres"], self.log_dir / "postgres.log")
        self.nats = NatsServer(self.data_dir / "nats", self.ports["nats"], self.log_dir / "nats.log")
        # Every service sends mail here; the messages land in `mail_dir`.
        self.smtp = SmtpSink(self.mail_dir, self.ports["smtp"])
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def mail_dir(self) -> Path:
        """The Maildir where the local SMTP server keeps every message sent (`.crm/mail` for `crm dev`);
        read it with `crm_gateway.dev_mail.DevMailbox`."""
        return self.data_dir / "mail"

    def addr(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def database_url(self, service: str) -> str:
        return self.postgres.url(f"crm_{service}")

    # -- environment ---------------------------------------------------------------------
    def service_env(self, name: str) -> dict[str, str]:
        prefix = f"CRM_{name.upper()}_"
        env = {
            f"{prefix}GRPC_PORT": str(self.ports[name]),
            f"{prefix}DATABASE_URL": self.database_url(name),
            f"{prefix}NATS_URL": self.nats.url,
            f"{prefix}IDENTITY_ADDR": self.addr("identity"),
            f"{prefix}TOKEN_ISSUER": self.gateway_url,
            f"{prefix}LOG_LEVEL": self.log_level,
            f"{prefix}PAGE_TOKEN_KEY": self.secrets["page_token_key"],
            # The local SMTP server (crm_dev/smtp_sink.py), for every service that sends mail.
            f"{prefix}SMTP_HOST": "127.0.0.1",
            f"{prefix}SMTP_PORT": str(self.ports["smtp"]),
            f"{prefix}SMTP_SECURITY": "none",
        }
        if name == "identity":
            env |= {
                "CRM_IDENTITY_TENANT_SERVICES": ",".join(self.addr(s) for s in TENANT_SERVICES),
                "CRM_IDENTITY_MASTER_KEY": self.secrets["master_key"],
                "CRM_IDENTITY_WEB_REDIRECT_URIS": f"{self.gateway_url}/auth/callback",
                # Links in invitation emails.
                "CRM_IDENTITY_PUBLIC_URL": self.gateway_url,
            }
        elif name == "customers":
            env["CRM_CUSTOMERS_MASTER_KEY"] = self.secrets["master_key"]
        elif name in ("followups", "tagging"):
            # Data scope's read-your-writes: they ask customers about a customer they have not seen yet.
            env[f"CRM_{name.upper()}_CUSTOMERS_ADDR"] = self.addr("customers")
            if name == "followups":  # links in reminder emails; inbound mail (crm_followups/inbound)
                env["CRM_FOLLOWUPS_PUBLIC_URL"] = self.gateway_url
                env["CRM_FOLLOWUPS_INBOUND_SMTP_PORT"] = str(self.ports["inbound_smtp"])
                env["CRM_FOLLOWUPS_INBOUND_DOMAIN"] = INBOUND_DOMAIN
        elif name == "reporting":
            env["CRM_REPORTING_CHDB_PATH"] = str(self.data_dir / "chdb")
            env["CRM_REPORTING_PUBLIC_URL"] = self.gateway_url  # unsubscribe links in subscription mails
        elif name == "webhooks":
            env |= {
                "CRM_WEBHOOKS_SECRET_KEY": self.secrets["webhook_secret_key"],
                "CRM_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            }
        return env

    def gateway_env(self) -> dict[str, str]:
        env = {
            "CRM_GATEWAY_HTTP_HOST": "127.0.0.1",
            "CRM_GATEWAY_HTTP_PORT": str(self.ports["gateway"]),
            "CRM_GATEWAY_PUBLIC_URL": self.gateway_url,
            "CRM_GATEWAY_SESSION_SECRET": self.secrets["session_secret"],
            "CRM_GATEWAY_TOKEN_ISSUER": self.gateway_url,
            "CRM_GATEWAY_LOG_LEVEL": self.log_level,
            "CRM_GATEWAY_NATS_URL": self.nats.url,  # Idempotency-Key records (a JetStream KV bucket)
            "CRM_GATEWAY_WORKERS": str(self.gateway_workers),
            "CRM_GATEWAY_DEV_MAILBOX_DIR": str(self.mail_dir),  # the developers' page of sent mail
        }
        for service in SERVICES:
            env[f"CRM_GATEWAY_{service.upper()}_ADDR"] = self.addr(service)
        return env

    # -- lifecycle -----------------------------------------------------------------------
    def start_infra(self) -> None:
        self.postgres.start()
        for service in SERVICES:
            self.postgres.create_database(f"crm_{service}")
        self.nats.start()
        self.smtp.start()

    def start_process(self, name: str) -> None:
        env = {
            **os.environ,
            **(self.gateway_env() if name == "gateway" else self.service_env(name)),
            **self.extra_env,
            "PYTHONUNBUFFERED": "1",
        }
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"crm_{name}"], env=env, stdout=log, stderr=log, start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def wait_healthy(self, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see {self.log_dir / (name + '.log')}\n{self.tail(name)}"
                )
            if self._healthy(name):
                return
            time.sleep(0.2)
        raise TimeoutError(
            f"{name} not healthy after {timeout}s; see {self.log_dir / (name + '.log')}\n{self.tail(name)}"
        )

    def _healthy(self, name: str) -> bool:
        if name == "gateway":
            try:
                return httpx.get(f"{self.gateway_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        with grpc.insecure_channel(self.addr(name)) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def start(self) -> None:
        self.start_infra()
        for service in SERVICES:
            self.start_process(service)
        for service in SERVICES:
            self.wait_healthy(service)
        self.start_process("gateway")
        self.wait_healthy("gateway")

    def stop_process(self, name: str) -> None:
        _terminate(self.processes.pop(name, None), 20)

    def stop(self) -> None:
        self.stop_process("gateway")  # first: no new requests while the services go
        terminate_all([self.processes.pop(name) for name in reversed(SERVICES) if name in self.processes], 20)
        self.smtp.stop()
        self.nats.stop()
        self.postgres.stop()
