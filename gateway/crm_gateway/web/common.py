"""What every page module shares: the signed-in session dependency and its CSRF check, the sign-in
redirect when a token dies under a page, labels of stable codes (statuses, types, roles), and the one-line text
of a failed call shown in a page's banner."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import grpc
from fastapi import Depends, Request

from crm_gateway.i18n import Locale
from crm_gateway.problems import UpstreamError, localise_field_errors
from crm_gateway.web.auth import LoginRequired, web_session
from crm_gateway.web.session import WebSession
from crm_gateway.web.shell import session_scopes, user_label
from crm_gateway.web.strings import UI

SessionDep = Annotated[WebSession, Depends(web_session)]

__all__ = ["SessionDep", "csrf_ok", "label", "problem_text", "raise_if_signed_out", "session_scopes", "user_label"]


def csrf_ok(form: Any, session: WebSession) -> bool:
    """The form carries the session's CSRF token (every POST form has it as `csrf_token`)."""
    return hmac.compare_digest(str(form.get("csrf_token") or "").encode(), session.csrf.encode())


def raise_if_signed_out(request: Request, exc: UpstreamError) -> None:
    """The token expired or was revoked since the session was made: sign in again."""
    if exc.error.status == grpc.StatusCode.UNAUTHENTICATED:
        raise LoginRequired(request.url.path) from exc


def label(prefix: str, value: str, locale: Locale) -> str:
    """The words for a stable code (`status`, `potential` -> "Potential"); unknown codes show as is."""
    return UI.get(f"{prefix}.{value}", locale) or value


def problem_text(exc: UpstreamError, locale: Locale) -> str:
    """One line for a failed call, shown in the page's banner."""
    status = exc.error.status
    if status == grpc.StatusCode.PERMISSION_DENIED:
        return UI.text("error.permission_denied", locale)
    if status in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return UI.text("error.unavailable", locale)
    details = localise_field_errors(exc.error.errors, locale)
    detail = "; ".join(e["message"] for e in details) or exc.error.message or exc.error.code
    return UI.text("error.generic", locale, detail=detail)
