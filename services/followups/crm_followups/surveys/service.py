"""Satisfaction surveys (docs/followups.md, "Surveys"): a CSAT (1-5) or NPS (0-10) question mailed
to a customer's email with a one-time public link; the answer becomes feedback (channel `survey`).

The link's token is `<tenant id hex>.<32 random bytes, base64url>`: the tenant part finds the tenant
schema, the random part makes it unguessable; only its SHA-256 is stored. A link answers once and
expires after `SURVEY_TTL`. The address is the customer's `email` as the customers service shows it
to the sender (their token: data scope and field policies apply, so a hidden or masked email cannot
be surveyed: `no_email`)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any, Final, Protocol

import grpc
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from crm_followups.feedback import repository
from crm_followups.feedback.service import FeedbackService
from crm_followups.feedback.tables import surveys
from crm_followups.surveys.texts import text
from crm_followups.task.service import TaskService, clean_content, parse_id, visible_row
from crm_platform.auth import Principal
from crm_platform.db import tenant_session
from crm_platform.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthenticated, Unavailable
from crm_platform.grpc_client import DEFAULT_DEADLINE, call_metadata, channel
from crm_platform.ids import new_id
from crm_platform.mail import Mail, Mailer
from crm_platform.pagination import page_size
from crm_proto.crm.customers.v1 import customers_pb2, customers_pb2_grpc

KINDS: Final = {"csat": (1, 5), "nps": (0, 10)}
LANGUAGES: Final = ("zh-CN", "en")
STATUSES: Final = ("sent", "answered", "expired")
SURVEY_TTL: Final = timedelta(days=14)
# The category a survey answer is filed under (the tenant's dictionary may rename it, not remove the code).
SURVEY_CATEGORY: Final = "service"
MAIL_CATEGORY: Final = "followups.survey"


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


class CustomerContacts(Protocol):
    async def recipient(self, principal: Principal, customer_id: uuid.UUID) -> Recipient: ...


class ContactsOverGrpc:
    """The customer as customers shows it to the caller (their token): name and email."""

    def __init__(self, address: str):
        self._stub = customers_pb2_grpc.CustomerServiceStub(channel(address))

    async def recipient(self, principal: Principal, customer_id: uuid.UUID) -> Recipient:
        try:
            reply = await self._stub.GetCustomer(customers_pb2.GetCustomerRequest(id=str(customer_id)),
                                                 metadata=call_metadata(principal.token), timeout=DEFAULT_DEADLINE)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED,
                              grpc.StatusCode.INVALID_ARGUMENT):
                raise NotFound("customer not found") from None
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise Unauthenticated("the token was refused") from None
            raise Unavailable("the customers service did not answer; try again") from None
        return Recipient(reply.contact_person or reply.name, reply.email)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(tenant_id: uuid.UUID) -> str:
    return f"{tenant_id.hex}.{secrets.token_urlsafe(32)}"


def tenant_of(token: str) -> uuid.UUID | None:
    head, dot, rest = token.partition(".")
    if not dot or len(head) != 32 or not 20 <= len(rest) <= 100:
        return None
    try:
        return uuid.UUID(hex=head)
    except ValueError:
        return None


@dataclass(frozen=True)
class PublicView:
    state: str
    kind: str = ""
    language: str = ""


def _state(row: sa.Row[Any], now: datetime) -> str:
    if row.answered_at is not None:
        return "answered"
    return "open" if row.expires_at > now else "expired"


class SurveyService:
    def __init__(self, tasks: TaskService, feedback: FeedbackService, contacts: CustomerContacts,
                 mailer: Mailer | None, public_url: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.access = tasks.access
        self.page_tokens = tasks.page_tokens
        self.feedback = feedback
        self.contacts = contacts
        self.mailer = mailer
        self.public_url = public_url.rstrip("/")
        self.clock = clock

    async def send(self, session: AsyncSession, caller: Principal, *, customer_id: str, kind: str,
                   language: str) -> sa.Row[Any]:
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=True)
        kind = kind.strip().lower()
        if kind not in KINDS:
            errors.append(FieldError("kind", "unknown_code" if kind else "required", "csat or nps"))
        language = language.strip() or "zh-CN"
        if language not in LANGUAGES:
            errors.append(FieldError("language", "unknown_code", "zh-CN or en"))
        if errors:
            raise InvalidInput(errors)
        assert customer is not None
        await self.access.require_visible(session, caller, customer)
        recipient = await self.contacts.recipient(caller, customer)
        if not recipient.email or "@" not in recipient.email or recipient.email.startswith("*"):
            raise InvalidInput([FieldError("customer_id", "no_email",
                                           "the customer has no email address you may see")])
        if self.mailer is None:
            raise Unavailable("mail is not configured for followups")
        now = self.clock()
        token = new_token(caller.tenant_id)
        row = await repository.insert_survey(session, {
            "id": new_id(), "customer_id": customer, "kind": kind, "language": language, "email": recipient.email,
            "token_hash": token_hash(token), "sent_by": caller.actor, "sent_at": now, "expires_at": now + SURVEY_TTL,
        })
        link = f"{self.public_url}/survey/{token}"
        expires = row.expires_at.strftime("%Y-%m-%d")
        body = text(language, f"{kind}_body", name=recipient.name, link=link, expires=expires)
        html = "".join(f"<p>{escape(part)}</p>" for part in body.split("\n\n") if part.strip())
        html += (f'<p><a href="{escape(link)}" style="display:inline-block;padding:10px 18px;background:#2563eb;'
                 f'color:#fff;border-radius:6px;text-decoration:none">{escape(text(language, "button"))}</a></p>')
        await self.mailer.queue(session, Mail(to=recipient.email, subject=text(language, f"{kind}_subject"),
                                              text=body, html=html),
                                tenant_id=caller.tenant_id, category=MAIL_CATEGORY)
        return row

    async def get(self, session: AsyncSession, caller: Principal, survey_id: str) -> sa.Row[Any]:
        return await visible_row(session, self.access, caller, survey_id, "id",
                                 lambda parsed: repository.get_survey(session, parsed), "survey")

    async def list_page(self, session: AsyncSession, caller: Principal, *, customer_id: str, status: str, size: int,
                        token: str) -> tuple[list[sa.Row[Any]], str]:
        limit = page_size(size)
        errors: list[FieldError] = []
        customer = parse_id(customer_id, "customer_id", errors, required=False)
        status = status.strip().lower()
        if status and status not in STATUSES:
            errors.append(FieldError("status", "unknown_code", "sent, answered or expired"))
        if errors:
            raise InvalidInput(errors)
        query_key = ["surveys", str(customer or ""), status]
        before = None
        if token:
            cursor = self.page_tokens.decode(token)
            if cursor.get("q") != query_key:
                raise InvalidInput([FieldError("page_token", "invalid_page_token",
                                               "page_token belongs to another query")])
            before = (datetime.fromisoformat(cursor["d"]), uuid.UUID(cursor["i"]))
        scope = await self.access.scope(session, caller)
        rows = await repository.list_surveys(
            session, visible=self.access.condition(surveys.c.customer_id, scope), limit=limit + 1,
            customer_id=customer, status=status, now=self.clock(), before=before)
        next_token = ""
        if len(rows) > limit:
            last = rows[limit - 1]
            next_token = self.page_tokens.encode({"q": query_key, "d": last.sent_at.isoformat(), "i": str(last.id)})
        return rows[:limit], next_token

    # -- the public answer page (no token: the link is the credential) -------------------------------

    async def preview(self, engine: AsyncEngine, token: str) -> PublicView:
        tenant_id = tenant_of(token)
        if tenant_id is None:
            return PublicView("invalid")
        try:
            async with tenant_session(engine, tenant_id) as session:
                row = await repository.survey_by_token_hash(session, token_hash(token))
        except DBAPIError:  # no such tenant schema (unknown or offboarded tenant)
            return PublicView("invalid")
        if row is None:
            return PublicView("invalid")
        return PublicView(_state(row, self.clock()), row.kind, row.language)

    async def answer(self, engine: AsyncEngine, token: str, score: int, comment: str) -> PublicView:
        """Once: a second answer, an expired or unknown link is 409 `survey_closed` with its `state`."""
        tenant_id = tenant_of(token)
        if tenant_id is None:
            raise _closed("invalid")
        try:
            async with tenant_session(engine, tenant_id) as session:
                return await self._answer(session, tenant_id, token, score, comment)
        except DBAPIError:
            raise _closed("invalid") from None

    async def _answer(self, session: AsyncSession, tenant_id: uuid.UUID, token: str, score: int,
                      comment: str) -> PublicView:
        row = await repository.survey_by_token_hash(session, token_hash(token), lock=True)
        if row is None:
            raise _closed("invalid")
        now = self.clock()
        state = _state(row, now)
        if state != "open":
            raise _closed(state)
        low, high = KINDS[row.kind]
        errors: list[FieldError] = []
        if not low <= score <= high:
            errors.append(FieldError("score", "out_of_range", f"between {low} and {high}"))
        body = clean_content(comment, "comment", errors, required=False)
        if errors:
            raise InvalidInput(errors)
        answer = await self.feedback.insert(
            session, tenant_id, customer_id=row.customer_id, channel="survey", category=SURVEY_CATEGORY,
            rating=score if row.kind == "csat" else None, nps_score=score if row.kind == "nps" else None,
            text=body, received_at=now, created_by=f"survey:{row.id}", survey_id=row.id, survey_kind=row.kind)
        await repository.mark_answered(session, row.id, now, answer.id)
        return PublicView("answered", row.kind, row.language)


def _closed(state: str) -> Conflict:
    return Conflict("this survey link cannot be answered", code="survey_closed", extra={"state": state})
