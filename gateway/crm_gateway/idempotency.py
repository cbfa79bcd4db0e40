"""`Idempotency-Key` on POST /v1/...: the first request with a key runs, later ones with the same
key and the same request get its response again (`Idempotent-Replayed: true`) for 24 hours.

Records live in the NATS JetStream key-value bucket `crm_idempotency`, shared by every gateway
replica. A record's key is the caller's tenant, a hash of client + subject (so another client or
user of the tenant never sees a response meant for someone else) and a hash of the header value
(KV keys allow only a few characters). The atomic KV `create` is the lock: one request wins and
writes a `pending` record with a per-message TTL (`idempotency_lock_seconds`), so a replica that
dies mid-request frees the key when the TTL runs out; when the request ends the record becomes
`done` (status, Content-Type, Location, ETag, Content-Language, body) and lives 24 hours (the
bucket's max age). A response that does not fit in one NATS message is recorded as `too_large`:
replays then get 409 `idempotency_response_too_large` instead of a partial body.

Not recorded (the key is released, so a retry runs again): 5xx and transport failures, and the
answers that mean the request never ran as that client: 400, 401, 403, 413, 415, 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

import anyio
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_gateway.problems import Problem, render_problem
from crm_platform import events, telemetry
from crm_platform.auth import Principal

log = logging.getLogger(__name__)

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
BUCKET: Final = "crm_idempotency"
RETENTION_SECONDS: Final = 24 * 3600
MAX_KEY_LENGTH: Final = 255
# Response headers worth replaying; the rest (trace id, rate limits, ...) belong to each answer.
KEPT_HEADERS: Final = frozenset({b"content-type", b"location", b"etag", b"content-language"})
# Statuses after which the key is released rather than recorded: the request never ran as
# that client (bad input, token, scope, size, media type, rate limit) or failed (5xx).
RELEASED_STATUSES: Final = frozenset({400, 401, 403, 413, 415, 429})
# Room for the record's JSON head next to the body within one NATS message.
RECORD_HEAD_ROOM: Final = 8 * 1024
NATS_FAILURES: Final = (nats.errors.Error, asyncio.TimeoutError, OSError)

State = Literal["pending", "done", "too_large"]


class StoreUnavailable(Exception):
    """NATS did not answer: the gateway cannot promise once-only, so the request is refused (503)."""


def parse_key(values: Sequence[str]) -> str:
    """The header's value: 1-255 printable ASCII characters (one header only), else a 400."""
    value = values[0].strip() if len(values) == 1 else ""
    if not (1 <= len(value) <= MAX_KEY_LENGTH and all(" " <= ch <= "~" for ch in value)):
        raise Problem(
            400, "invalid_idempotency_key", params={"limit": MAX_KEY_LENGTH},
            errors=[{"field": HEADER, "code": "invalid_idempotency_key", "message": ""}],
        )
    return value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def record_key(principal: Principal, idempotency_key: str) -> str:
    """`<tenant hex>.<client + subject hash>.<key hash>`: only `[-/_=.a-zA-Z0-9]` are allowed."""
    caller = _sha256(f"{principal.client_id}\x00{principal.subject}")[:32]
    return f"{principal.tenant_id.hex}.{caller}.{_sha256(idempotency_key)}"


@dataclass(frozen=True)
class Fingerprint:
    """What makes two requests "the same request"."""

    method: str
    path: str
    query: str
    body_sha256: str

    @classmethod
    def of(cls, scope: Scope, body: bytes) -> Fingerprint:
        query = scope.get("query_string", b"").decode("latin-1")
        return cls(scope["method"], scope["path"], query, hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class Record:
    state: State
    fingerprint: Fingerprint
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def encode(self) -> bytes:
        """A JSON head line, then the body as is (no base64: the body gets the whole message)."""
        head = {"state": self.state, "fingerprint": asdict(self.fingerprint), "status": self.status,
                "headers": self.headers}
        return json.dumps(head, separators=(",", ":")).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Record:
        head_raw, _, body = raw.partition(b"\n")
        head: dict[str, Any] = json.loads(head_raw)
        return cls(
            state=head["state"], fingerprint=Fingerprint(**head["fingerprint"]), status=head["status"],
            headers=[(str(k), str(v)) for k, v in head["headers"]], body=body,
        )


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: run it, then `complete` or `release` at this revision."""

    revision: int


class IdempotencyStore:
    def __init__(self, nc: NATS, kv: KeyValue, lock_seconds: int) -> None:
        self.nc = nc
        self.kv = kv
        self.lock_seconds = lock_seconds

    @classmethod
    async def connect(cls, nats_url: str, lock_seconds: int) -> IdempotencyStore:
        """Connects and creates the bucket if needed (every replica does it at start: idempotent)."""
        nc = await events.connect(nats_url, "crm-gateway")
        js = nc.jetstream(timeout=5.0)
        config = KeyValueConfig(
            bucket=BUCKET, description="Idempotency-Key records of the API gateway", history=1,
            ttl=RETENTION_SECONDS, storage=StorageType.FILE,
        )
        try:
            kv = await js.create_key_value(config)
        except nats.js.errors.BadRequestError:
            # Made earlier with other settings (e.g. by an operator, with more replicas): use as is.
            kv = await js.key_value(BUCKET)
        return cls(nc, kv, lock_seconds)

    async def close(self) -> None:
        await self.nc.close()

    @property
    def max_record_bytes(self) -> int:
        return self.nc.max_payload

    async def claim(self, key: str, fingerprint: Fingerprint) -> Claimed | Record:
        """Takes the key for this request, or returns the record of whoever has it."""
        pending = Record("pending", fingerprint)  # expires by its message TTL
        try:
            for _ in range(3):  # the holder may release between our create and our read
                try:
                    return Claimed(await self.kv.create(key, pending.encode(), msg_ttl=self.lock_seconds))
                except nats.js.errors.KeyWrongLastSequenceError:
                    pass
                try:
                    entry = await self.kv.get(key)
                except nats.js.errors.KeyNotFoundError:
                    continue
                return Record.decode(entry.value or b"")
        except NATS_FAILURES as exc:
            raise StoreUnavailable(str(exc)) from exc
        raise StoreUnavailable("the key kept changing hands")

    async def complete(self, key: str, claim: Claimed, record: Record) -> None:
        try:
            await self.kv.update(key, record.encode(), last=claim.revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            # Our lock ran out and another request took the key: its record stands.
            log.warning("idempotency lock expired before the request finished",
                        extra=telemetry.log_fields(lock_seconds=self.lock_seconds))
        except NATS_FAILURES:
            # The pending record expires with its TTL; until then retries get 409 in use.
            log.warning("idempotency record not written", exc_info=True)

    async def release(self, key: str, claim: Claimed) -> None:
        try:
            await self.kv.delete(key, last=claim.revision)
        except NATS_FAILURES:
            log.warning("idempotency key not released; it frees itself when the lock expires", exc_info=True)


async def purge_tenant(nats_url: str, tenant_id: uuid.UUID) -> None:
    """Drops every record of a tenant (keys start with its id), for offboarding: records hold
    response bodies, which must not outlive the tenant's erasure by up to 24 hours."""
    nc = await events.connect(nats_url, "crm-operator")
    try:
        js = nc.jetstream(timeout=10.0)
        # NotFound: no gateway ever started against this NATS, so there is nothing to drop.
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.purge_stream(f"KV_{BUCKET}", subject=f"$KV.{BUCKET}.{tenant_id.hex}.>")
    finally:
        await nc.close()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away; the app sees an empty body and the disconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class ResponseRecorder:
    """Passes the response through and keeps what a replay needs (the body up to a limit)."""

    def __init__(self, send: Send, max_body: int) -> None:
        self._send = send
        self.max_body = max_body
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())
                            if k.lower() in KEPT_HEADERS]
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if self.size <= self.max_body:
                self.chunks.append(chunk)
            self.complete = not message.get("more_body", False)
        await self._send(message)

    def record(self, fingerprint: Fingerprint) -> Record:
        if self.size > self.max_body:
            return Record("too_large", fingerprint, status=self.status)
        return Record("done", fingerprint, status=self.status, headers=self.headers, body=b"".join(self.chunks))


async def _replay(record: Record, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in record.headers]
    headers += [(b"content-length", str(len(record.body)).encode()), (REPLAYED_HEADER.lower().encode(), b"true")]
    await send({"type": "http.response.start", "status": record.status, "headers": headers})
    await send({"type": "http.response.body", "body": record.body})


def _answer_for(record: Record, fingerprint: Fingerprint) -> Problem | None:
    """What a request meets when the key is taken: a problem, or None to replay the record."""
    if record.fingerprint != fingerprint:
        return Problem(422, "idempotency_key_mismatch",
                       errors=[{"field": HEADER, "code": "idempotency_key_mismatch", "message": ""}])
    if record.state == "pending":
        return Problem(409, "idempotency_key_in_use", headers={"Retry-After": "1"})
    if record.state == "too_large":
        return Problem(409, "idempotency_response_too_large", extra={"original_status": record.status})
    return None


async def run_once(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, store: IdempotencyStore, key: str
) -> None:
    """Runs the POST in `scope` at most once per `key` (see the module docstring)."""
    body = await _read_body(receive)
    fingerprint = Fingerprint.of(scope, body)
    request = Request(scope)
    try:
        claim = await store.claim(key, fingerprint)
    except StoreUnavailable as exc:
        log.warning("idempotency store unavailable", extra=telemetry.log_fields(error=str(exc)))
        await render_problem(request, Problem(503, "unavailable", headers={"Retry-After": "1"}))(scope, receive, send)
        return
    if isinstance(claim, Record):
        problem = _answer_for(claim, fingerprint)
        if problem is None:
            await _replay(claim, send)
        else:
            await render_problem(request, problem)(scope, receive, send)
        return

    body_sent = False

    async def replay_receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    recorder = ResponseRecorder(send, store.max_record_bytes - RECORD_HEAD_ROOM)
    try:
        await app(scope, replay_receive, recorder.send)
    except BaseException:
        with anyio.CancelScope(shield=True):  # also when the client went away (cancellation)
            await store.release(key, claim)
        raise
    with anyio.CancelScope(shield=True):
        if recorder.complete and recorder.status < 500 and recorder.status not in RELEASED_STATUSES:
            await store.complete(key, claim, recorder.record(fingerprint))
        else:
            await store.release(key, claim)
