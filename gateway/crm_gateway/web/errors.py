"""The web UI's error pages: a problem (404, 403, 500, ...) met by a browser navigating to a page
is shown inside the shell, in the page's language, instead of problem+json (problems.negotiated)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from crm_gateway import i18n
from crm_gateway.web.strings import UI
from crm_gateway.web.templating import page_locale, render


def error_page(request: Request, status: int, code: str, trace_id: str | None) -> Response:
    locale = page_locale(request)
    if status == 404:
        title, message = UI.text("error.not_found_title", locale), UI.text("error.not_found", locale)
    elif status >= 500 and code in ("internal", ""):
        title, message = UI.text("error.server_title", locale), UI.text("error.server", locale)
    else:
        title = i18n.PROBLEM_TITLES.get(code, locale) or UI.text("error.status_title", locale)
        message = i18n.PROBLEM_DETAILS.get(code, locale, method=request.method) or title
    context = {"status": status, "code": code, "title": title, "message": message, "in_shell": True,
               "reference": UI.text("error.reference", locale, trace=trace_id) if trace_id and status >= 500 else ""}
    return render(request, "error.html", context, status_code=status)
