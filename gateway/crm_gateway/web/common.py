"""What every page module shares: the signed-in session dependency and its CSRF check, the sign-in
redirect when a token dies under a page, labels of stable codes (statuses, types, roles), and the one-line text
of a failed call shown in a page's banner."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated, Any

import grpc
from fastapi import Depends, Request

from crm_gateway.i18n import Locale, Msg, messages
from crm_gateway.problems import UpstreamError, localise_field_errors
from crm_gateway.web.auth import LoginRequired, web_session
from crm_gateway.web.labels import label
from crm_gateway.web.session import WebSession
from crm_gateway.web.shell import session_scopes, user_label

SessionDep = Annotated[WebSession, Depends(web_session)]

__all__ = ["SessionDep", "csrf_ok", "flash_message", "flash_text", "label", "problem_text", "raise_if_signed_out",
           "session_scopes", "user_label"]


def csrf_ok(form: Any, session: WebSession) -> bool:
    """The form carries the session's CSRF token (every POST form has it as `csrf_token`)."""
    return hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode())


def raise_if_signed_out(request: Request, exc: UpstreamError) -> None:
    """The token expired or was revoked since the session was made: sign in again."""
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired(request.url.path) from exc


def flash_message(msg: Msg, **params: object) -> dict[str, Any]:
    """What a form flashes to the page it redirects to: the message, not its words (the next page
    says it in its own language)."""
    return {"msgid": msg.msgid, "context": msg.context, "params": params}


def flash_text(flash: Mapping[str, Any] | None, locale: Locale) -> str | None:
    if not flash or not isinstance(flash.get("msgid"), str):
        return None
    params = flash.get("params")
    message = Msg(flash["msgid"], flash.get("context"))
    return messages(locale).text(message, **(params if isinstance(params, dict) else {}))


def problem_text(exc: UpstreamError, locale: Locale) -> str:
    """One line for a failed call, shown in the page's banner."""
    status = exc.error.status
    if status == grpc.StatusCode.PERMISSION_DENIED:
        return messages(locale).gettext("Your role does not allow this.")
    if status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return messages(locale).gettext("The customer service is temporarily unavailable. Please try again shortly.")
    details = localise_field_errors(exc.error.errors, locale)
    detail = "; ".join(e["message"] for e in details) or exc.error.message or exc.error.code
    return messages(locale).gettext("Something went wrong: %(detail)s", detail=detail)
