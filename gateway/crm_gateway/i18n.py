"""Locales, negotiation and the message catalogues (gettext, managed with Babel).

Only zh-CN and en exist; everything else falls back to en. Every user-facing text of the gateway
(pages, problem titles and details, field messages) is an English msgid in the code or the
templates, translated by the catalogue `locale/<locale>/LC_MESSAGES/messages.po` (docs/web.md,
"Translations": `pybabel extract` finds the msgids, translators edit the .po files). The .po
files are compiled in memory when the gateway starts: no binary .mo is kept in the repository.
The machinery (negotiation, Msg, Messages) is `crm_platform.i18n`, shared with the services.

Messages use Python's named placeholders (`%(count)s`), filled from keyword arguments; a literal
percent sign is written `%%`. Where the same English needs different Chinese, the message has a
context (`pgettext("filter", "Mobile")`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from babel.support import Translations

from crm_platform.i18n import (
    BABEL_LOCALES,
    DEFAULT_LOCALE,
    N_,
    NC_,
    SUPPORTED,
    Locale,
    Messages,
    Msg,
    accepted_languages,
    fill,
    negotiate,
    parse_locale,
)
from crm_platform.i18n import compile_catalogue as _compile

__all__ = ["BABEL_LOCALES", "DEFAULT_LOCALE", "DOMAIN", "LOCALE_DIR", "NC_", "N_", "SUPPORTED", "Locale",
           "Messages", "Msg", "accepted_languages", "compile_catalogue", "fill", "load_catalogues", "messages",
           "negotiate", "parse_locale"]

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "messages"


def compile_catalogue(locale: Locale) -> Translations:
    return _compile(LOCALE_DIR, DOMAIN, locale)


@cache
def messages(locale: Locale) -> Messages:
    return Messages(locale, compile_catalogue(locale))


def load_catalogues() -> None:
    """Compiles every catalogue now (at start-up), so a broken .po stops the start, not a page."""
    for locale in SUPPORTED:
        messages(locale)
