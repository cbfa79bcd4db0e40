"""Server-rendered pages: the Jinja2 environment, the page locale and the headers every page gets.

Templates translate with the Jinja2 i18n extension in its newstyle form: `_("Text")`,
`_("Hello %(name)s", name=x)`, `pgettext("context", "Text")`, `ngettext("%(num)d customer",
"%(num)d customers", n)`; the callables are the page locale's catalogue (crm_gateway.i18n), given
per render. `label(group, code)` shows a stable code in words (web/labels.py), `fmt` formats
numbers, money and times for the page (web/formatting.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from babel import Locale as BabelLocale
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.responses import Response

from crm_gateway.i18n import BABEL_LOCALES, SUPPORTED, Locale, Messages, fill, messages, negotiate, parse_locale
from crm_gateway.web import formatting, labels
from crm_gateway.web.session import WebSession, current_session
from crm_gateway.web.shell import shell_for
from crm_platform.text import printable

WEB_DIR: Final = Path(__file__).parent
STATIC_DIR: Final = WEB_DIR / "static"
LANG_COOKIE: Final = "crm_lang"



def shown(value: Any) -> Any:
    """Every `{{ ... }}` output: stored text may predate the text rule (crm_platform/text.py), so
    control characters are shown as U+FFFD rather than sent raw (NUL is a parse error in HTML)."""
    if isinstance(value, Markup):
        return Markup(printable(str(value)))
    if isinstance(value, str):
        return printable(value)
    return value


_environment = Environment(loader=FileSystemLoader(WEB_DIR / "templates"), autoescape=True,
                           extensions=["jinja2.ext.i18n"], finalize=shown)
_environment.newstyle_gettext = True  # type: ignore[attr-defined]  # {% trans %} and _() fill %(name)s
templates = Jinja2Templates(env=_environment)


def _escaped(context: Context, text: str, params: dict[str, Any]) -> str:
    """Newstyle gettext's rule: the translation is markup, its parameters are escaped."""
    if context.eval_ctx.autoescape:
        return Markup(text) % params
    return fill(text, params)


def gettext_callables(t: Messages) -> dict[str, Any]:
    """gettext, ngettext, pgettext and npgettext for one page's locale, as the i18n extension calls them."""
    raw = t.translations

    @pass_context
    def gettext(context: Context, message: str, /, **params: Any) -> str:
        return _escaped(context, raw.gettext(message), params)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, n: int, /, **params: Any) -> str:
        return _escaped(context, raw.ngettext(singular, plural, n), {"num": n, **params})

    @pass_context
    def pgettext(context: Context, message_context: str, message: str, /, **params: Any) -> str:
        return _escaped(context, str(raw.pgettext(message_context, message)), params)

    @pass_context
    def npgettext(context: Context, message_context: str, singular: str, plural: str, n: int, /,
                  **params: Any) -> str:
        return _escaped(context, str(raw.npgettext(message_context, singular, plural, n)), {"num": n, **params})

    return {"gettext": gettext, "ngettext": ngettext, "pgettext": pgettext, "npgettext": npgettext}


def language_name(locale: Locale) -> str:
    """A locale's name in its own language, for the language switch (CLDR's, by Babel)."""
    return str(BabelLocale.parse(BABEL_LOCALES[locale]).language_name)


def page_locale(request: Request) -> Locale:
    """The `crm_lang` cookie (the language switch; set from the user's own language at sign-in and
    on the account page) wins, then the signed-in user's language, then Accept-Language."""
    chosen = parse_locale(request.cookies.get(LANG_COOKIE))
    if chosen:
        return chosen
    session = current_session(request) if request.url.path.startswith("/app") else None
    return (parse_locale(session.locale) if session else None) or negotiate(request.headers.get("accept-language"))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def security_headers(form_targets: Iterable[str] = ()) -> dict[str, str]:
    """Scripts only as files from /static (no inline script, no other origin), no framing
    (clickjacking on the login form), no referrer (codes in URLs). `form_targets` are origins a
    form may end up at (CSP form-action also covers its redirects)."""
    form_action = " ".join(["'self'", *sorted({origin(u) for u in form_targets})])
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "connect-src 'self'; "
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
    locale: Locale | None = None,
) -> Response:
    """`locale`: the page's language when it is the page's own (a survey's), not the viewer's."""
    locale = locale or page_locale(request)
    other: Locale = "en" if locale == "zh-CN" else "zh-CN"

    def label(group: str, code: str, **params: object) -> str:
        return labels.label(group, code, locale, **params)

    # Times in the one zone of this viewer (formatting.py): `when(x)` 2026-03-18 14:05, `day(x)`.
    zone = formatting.viewer_zone(request, locale)

    def when(value: Any) -> str:
        return formatting.datetime_text(formatting.moment(value), zone, locale)

    def day(value: Any) -> str:
        return formatting.date_text(formatting.moment(value), locale, zone)

    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    session = context.get("session") or signed_in(request)
    in_shell = request.url.path.startswith("/app") or bool(context.get("in_shell"))
    full_context = {
        **gettext_callables(messages(locale)), "label": label, "when": when, "day": day,
        "money": lambda amount, currency: formatting.money(str(amount), currency, locale),
        "number": lambda value: formatting.number(value, locale),
        "locale": locale, "lang_other": other, "lang_other_name": language_name(other), "here": here,
        # Each language by its own name (CLDR), for language selects.
        "languages": [(code, language_name(code)) for code in SUPPORTED],
        "shell": shell_for(session, request.url.path, locale) if session and in_shell else None,
        **context,
    }
    response = templates.TemplateResponse(request, name, full_context, status_code=status_code)
    response.headers.update(security_headers(form_targets))
    return response


def signed_in(request: Request) -> WebSession | None:
    """The session of a page that did not load one itself (error pages), for the menu."""
    return current_session(request)


def message_page(
    request: Request, title: str, message: str, *, status_code: int, link: tuple[str, str] | None = None
) -> Response:
    """A page that only explains something (errors that must not redirect anywhere)."""
    return render(request, "message.html", {"title": title, "message": message, "link": link},
                  status_code=status_code)
