"""A customer's tags on its detail page, as coloured chips with add and remove (plain POST forms). The same calls and
rules as the REST API (api/tags.py): the customer must be visible to the caller, then tagging
applies or removes the tag."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from crm_gateway.api.common import BackendsDep, timestamp
from crm_gateway.api.tags import visible_customer
from crm_gateway.clients import Backends, Caller
from crm_gateway.i18n import N_, Msg, messages
from crm_gateway.problems import GRPC_TO_HTTP, INTERNAL, UpstreamError
from crm_gateway.web import formatting
from crm_gateway.web.auth import session_caller, token_claims
from crm_gateway.web.common import SessionDep, csrf_ok, flash_message, problem_text, raise_if_signed_out
from crm_gateway.web.session import WebCookies, WebSession
from crm_gateway.web.tag_choices import TagChoice, color_rules, color_stylesheet, tenant_tags
from crm_gateway.web.templating import message_page, page_locale
from crm_proto.crm.tagging.v1 import tagging_pb2 as pb

router = APIRouter(prefix="/app", include_in_schema=False)


@dataclass(frozen=True)
class CarriedTag(TagChoice):
    """A tag on the customer: how it got there and when."""

    by_rule: bool
    applied_at: str
    # Why a rule applied it: the rule's name and what triggered it (docs/tagging.md).
    rule_name: str = ""
    trigger: str = ""


@dataclass
class TagsSection:
    """A customer's tags for its detail page; `can_edit` offers add and remove."""

    carried: list[CarriedTag] = field(default_factory=list)
    available: list[TagChoice] = field(default_factory=list)
    can_edit: bool = False
    error: str | None = None

    @property
    def stylesheet(self) -> str:
        return color_stylesheet(t.color for t in self.carried)


def _scopes(session: WebSession) -> set[str]:
    return set(str(token_claims(session.token).get("scope", "")).split())


def can_read_tags(session: WebSession) -> bool:
    return "tags:read" in _scopes(session)


def can_tag(session: WebSession) -> bool:
    """Whether to offer add and remove (tagging and the REST API enforce the scopes themselves)."""
    return {"customers:write", "tags:read"} <= _scopes(session)


async def tags_section(caller: Caller, services: Backends, session: WebSession, customer_id: str) -> TagsSection | None:
    """None when the caller may not read tags (the page leaves the section out)."""
    if not can_read_tags(session):
        return None
    try:
        reply = await caller.call(services.tagging.ListCustomerTags,
                                  pb.ListCustomerTagsRequest(customer_id=customer_id))
    except UpstreamError as exc:
        return TagsSection(error=problem_text(exc, caller.locale))
    carried = []
    for t in reply.items:
        applied = timestamp(t.applied_at)
        carried.append(CarriedTag(t.tag_id, t.tag_name, t.tag_color, t.source == "rule",
                                  formatting.on(applied, caller.locale), t.rule_name, t.trigger))
    editable = can_tag(session)
    on_customer = {t.id for t in carried}
    available = [t for t in await tenant_tags(caller, services) if t.id not in on_customer] if editable else []
    return TagsSection(carried=carried, available=available, can_edit=editable)


def _back(request: Request, customer_id: str, done: Msg) -> Response:
    response = RedirectResponse(f"/app/customers/{customer_id}#tags", status_code=303)
    cookies: WebCookies = request.app.state.web_cookies
    cookies.flash(response, flash_message(done))
    return response


def _refused(request: Request, customer_id: str, text: str, status_code: int) -> Response:
    locale = page_locale(request)
    return message_page(request, messages(locale).gettext("The tag could not be changed"), text,
                        status_code=status_code,
                        link=(f"/app/customers/{customer_id}", messages(locale).gettext("Back to the customer")))


def _failed(request: Request, customer_id: str, exc: UpstreamError) -> Response:
    raise_if_signed_out(request, exc)
    return _refused(request, customer_id, problem_text(exc, page_locale(request)),
                    GRPC_TO_HTTP.get(exc.error.status, INTERNAL)[0])


async def _change_tags(request: Request, customer_id: str, session: WebSession, services: Any,
                       change: Callable[[Caller, Mapping[str, Any]], Awaitable[object]], done: Msg) -> Response:
    """One form post that puts a tag on or takes one off: CSRF, the customer's visibility, the
    change, then back to the detail page with `done` flashed (or the refusal shown there)."""
    form = await request.form()
    if not csrf_ok(form, session):
        return _refused(request, customer_id,
                        messages(page_locale(request)).gettext("The form expired; please submit it again."), 403)
    caller = session_caller(request, session)
    try:
        await visible_customer(caller, services, customer_id)
        await change(caller, form)
    except UpstreamError as exc:
        return _failed(request, customer_id, exc)
    return _back(request, customer_id, done)


@router.post("/customers/{customer_id}/tags")
async def add_tag(request: Request, customer_id: str, session: SessionDep, services: BackendsDep) -> Response:
    return await _change_tags(request, customer_id, session, services, lambda caller, form: caller.call(
        services.tagging.ApplyCustomerTag,
        pb.ApplyCustomerTagRequest(customer_id=customer_id, tag_id=str(form.get("tag_id") or "")),
    ), N_("Tag added."))


@router.post("/customers/{customer_id}/tags/{tag_id}/remove")
async def remove_tag(request: Request, customer_id: str, tag_id: str, session: SessionDep,
                     services: BackendsDep) -> Response:
    return await _change_tags(request, customer_id, session, services, lambda caller, form: caller.call(
        services.tagging.RemoveCustomerTag, pb.RemoveCustomerTagRequest(customer_id=customer_id, tag_id=tag_id),
    ), N_("Tag removed."))


@router.get("/tag-colors.css")
async def tag_colors(c: str = "") -> Response:
    """Tag colours as CSS rules (tag_choices.color_stylesheet); holds no data but the colours asked."""
    return Response(color_rules(c), media_type="text/css",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"})
