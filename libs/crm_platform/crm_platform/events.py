"""CloudEvents 1.0 (JSON) on NATS JetStream: envelope, subjects and the stream definition."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

STREAM = "CRM"
SUBJECTS = ["crm.>"]
SPEC_VERSION = "1.0"


def subject_for(tenant_id: uuid.UUID | str, aggregate: str, verb: str) -> str:
    """crm.<tenant id>.<aggregate>.<verb>: consumers filter by aggregate/verb with wildcards."""
    return f"crm.{tenant_id}.{aggregate}.{verb}"


def event_type(aggregate: str, verb: str) -> str:
    return f"crm.{aggregate}.{verb}"


def proto_data(message: Message) -> dict[str, Any]:
    """Event payloads are proto3 JSON with the .proto field names (snake_case)."""
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    tenantid: str
    time: str
    data: dict[str, Any]
    subject: str | None = None

    @classmethod
    def new(
        cls,
        *,
        source: str,
        type: str,
        tenant_id: uuid.UUID | str,
        data: dict[str, Any],
        subject: str | None = None,
        event_id: uuid.UUID | None = None,
    ) -> CloudEvent:
        from crm_platform.ids import new_id

        return cls(
            id=str(event_id or new_id()),
            source=source,
            type=type,
            tenantid=str(tenant_id),
            time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            data=data,
            subject=subject,
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "datacontenttype": "application/json",
            "tenantid": self.tenantid,
            "data": self.data,
        }
        if self.subject:
            body["subject"] = self.subject
        return body

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> CloudEvent:
        return cls.from_json(json.loads(raw))

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CloudEvent:
        if body.get("specversion") != SPEC_VERSION:
            raise ValueError(f"unsupported CloudEvents specversion {body.get('specversion')!r}")
        uuid.UUID(str(body.get("tenantid")))  # a malformed tenant id is undecodable, not retryable
        return cls(
            id=body["id"],
            source=body["source"],
            type=body["type"],
            tenantid=body["tenantid"],
            time=body["time"],
            data=body.get("data") or {},
            subject=body.get("subject"),
        )


def stream_config(replicas: int = 1) -> StreamConfig:
    """File storage so events survive a NATS restart; the server runs with `sync_interval:
    always` (see docs/events.md) so an acknowledged publish is on disk, not only in page cache.
    The duplicate window lets the relay retry a publish with the same Nats-Msg-Id safely."""
    return StreamConfig(
        name=STREAM,
        subjects=SUBJECTS,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=7 * 24 * 3600,
        duplicate_window=10 * 60,
        num_replicas=replicas,
    )


async def connect(url: str, name: str) -> NATS:
    """A client that keeps reconnecting forever: NATS being down is an expected state."""
    return await nats.connect(
        servers=[url],
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        connect_timeout=2,
    )


async def ensure_stream(js: JetStreamContext) -> None:
    config = stream_config()
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        await js.update_stream(config)
