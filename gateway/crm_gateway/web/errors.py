"""The web UI's error pages: a problem (404, 403, 500, ...) met by a browser navigating to a page
is shown inside the shell, in the page's language, instead of problem+json (problems.negotiated)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from crm_gateway.i18n import messages
from crm_gateway.problem_texts import PROBLEM_DETAILS, PROBLEM_TITLES
from crm_gateway.problems import catalogue_text
from crm_gateway.web.templating import page_locale, render


def error_page(request: Request, status: int, code: str, trace_id: str | None) -> Response:
    locale = page_locale(request)
    t = messages(locale)
    if status == 404:
        title = t.gettext("Page not found")
        message = t.gettext("There is no page at this address. It may have moved, or the link may be mistyped.")
    elif status == 403:
        title = catalogue_text(PROBLEM_TITLES, "permission_denied", locale) or ""
        message = t.gettext("Your role does not allow this.")
    elif status >= 500 and code in ("internal", ""):
        title = t.gettext("Something went wrong")
        message = t.gettext("We could not show this page. The error was logged; please try again in a moment.")
    else:
        title = catalogue_text(PROBLEM_TITLES, code, locale) or messages(locale).gettext("This did not work")
        message = catalogue_text(PROBLEM_DETAILS, code, locale, method=request.method) or title
    context = {"status": status, "code": code, "title": title, "message": message, "in_shell": True,
               "reference": messages(locale).gettext("Reference: %(trace)s",
                                                     trace=trace_id) if trace_id and status >= 500 else ""}
    return render(request, "error.html", context, status_code=status)
