"""Server-rendered pages: the Jinja2 environment, the page locale and the headers every page gets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from crm_gateway.i18n import Locale, negotiate, parse_locale
from crm_gateway.web.strings import UI
from crm_platform.text import printable

WEB_DIR: Final = Path(__file__).parent
STATIC_DIR: Final = WEB_DIR / "static"
LANG_COOKIE: Final = "crm_lang"

templates = Jinja2Templates(directory=WEB_DIR / "templates")


def shown(value: Any) -> Any:
    """Every `{{ ... }}` output: stored text may predate the text rule (crm_platform/text.py), so
    control characters are shown as U+FFFD rather than sent raw (NUL is a parse error in HTML)."""
    if isinstance(value, Markup):
        return Markup(printable(str(value)))
    if isinstance(value, str):
        return printable(value)
    return value


templates.env.finalize = shown  # set before any template is compiled


def page_locale(request: Request) -> Locale:
    """The `crm_lang` cookie (set by the language switch) wins over Accept-Language."""
    return parse_locale(request.cookies.get(LANG_COOKIE)) or negotiate(request.headers.get("accept-language"))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(form_targets: Iterable[str] = ()) -> dict[str, str]:
    """No scripts at all, no framing (clickjacking on the login form), no referrer (codes in URLs).
    `form_targets` are origins a form may end up at (CSP form-action also covers its redirects)."""
    form_action = " ".join(["'self'", *sorted({origin(u) for u in form_targets})])
    return {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    form_targets: Iterable[str] = (),
) -> Response:
    locale = page_locale(request)

    def t(key: str, **params: object) -> str:
        return UI.text(key, locale, **params)

    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    full_context = {
        "locale": locale, "t": t, "lang_other": "en" if locale == "zh-CN" else "zh-CN", "here": here, **context,
    }
    response = templates.TemplateResponse(request, name, full_context, status_code=status_code)
    response.headers.update(security_headers(form_targets))
    return response


def message_page(
    request: Request, title: str, message: str, *, status_code: int, link: tuple[str, str] | None = None
) -> Response:
    """A page that only explains something (errors that must not redirect anywhere)."""
    return render(request, "message.html", {"title": title, "message": message, "link": link},
                  status_code=status_code)
