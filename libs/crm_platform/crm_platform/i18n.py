"""Locales, negotiation and gettext catalogues (managed with Babel), shared by the gateway and the
services.

Only zh-CN and en exist; everything else falls back to en. Every user-facing text is an English
msgid in the code, translated by a catalogue `<locale dir>/<locale>/LC_MESSAGES/<domain>.po`. Two
catalogues exist (docs/web.md, "Translations"): the gateway's (`crm_gateway/locale`, domain
`messages`: pages, problem texts) and the services' (`crm_platform/locale`, domain `services`: text
a service writes itself, such as import row messages, spreadsheet headers and emails). The .po
files are compiled in memory on first use: no binary .mo is kept in the repository.

Messages use Python's named placeholders (`%(count)s`), filled from keyword arguments; a literal
percent sign is written `%%`. Where the same English needs different Chinese, the message has a
context (`pgettext("filter", "Mobile")`).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

Locale = Literal["en", "zh-CN"]
DEFAULT_LOCALE: Final[Locale] = "en"
SUPPORTED: Final[tuple[Locale, ...]] = ("en", "zh-CN")
# Babel's (CLDR's) identifier of each locale, also the catalogue's directory name.
BABEL_LOCALES: Final[Mapping[Locale, str]] = {"en": "en", "zh-CN": "zh_CN"}
SERVICES_LOCALE_DIR: Final = Path(__file__).parent / "locale"
SERVICES_DOMAIN: Final = "services"
# What negotiation may pick; any Chinese ("zh", "zh-Hans-CN", "zh-TW") is served zh-CN.
_OFFERED: Final = ("en", "zh-CN", "zh")


def parse_locale(tag: str | None) -> Locale | None:
    """One language tag (`zh`, `zh-Hans-CN`, `en-GB`, `zh_CN`) as a supported locale, or None."""
    if not tag or not tag.strip():
        return None
    return _supported(negotiate_locale([tag.strip().replace("_", "-")], _OFFERED, sep="-"))


def locale_or_default(tag: str | None) -> Locale:
    """A locale a caller passed along (a gRPC field, a stored preference), or en."""
    return parse_locale(tag) or DEFAULT_LOCALE


def negotiate(accept_language: str | None) -> Locale:
    """The best supported locale for an Accept-Language header (RFC 9110 §12.5.4), by Babel."""
    return _supported(negotiate_locale(accepted_languages(accept_language), _OFFERED, sep="-")) or DEFAULT_LOCALE


def accepted_languages(header: str | None) -> list[str]:
    """The header's language ranges, most wanted first (ties keep header order); q=0, invalid
    weights and `*` are left out."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _supported(found: str | None) -> Locale | None:
    if not found:
        return None
    return "zh-CN" if found.lower().startswith("zh") else "en"


# -- messages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Msg:
    """A message marked for the catalogue where it is defined (tables of labels, flash messages),
    translated where it is shown: `messages(locale).text(msg)`."""

    msgid: str
    context: str | None = None


def N_(msgid: str) -> Msg:
    return Msg(msgid)


def NC_(context: str, msgid: str) -> Msg:
    return Msg(msgid, context)


def fill(template: str, params: Mapping[str, object]) -> str:
    """`%(name)s` placeholders from `params`; a template the parameters do not fit shows as is
    (a translator's typo must not break the page)."""
    try:
        return template % dict(params)
    except (KeyError, ValueError, TypeError):
        log.warning("message does not fit its parameters", extra={"msg_template": template})
        return template


class Messages:
    """The catalogue in one locale. Every method fills `%(name)s` placeholders from keyword
    arguments, like the templates' newstyle gettext."""

    def __init__(self, locale: Locale, translations: Translations) -> None:
        self.locale = locale
        self._t = translations

    def gettext(self, msgid: str, /, **params: object) -> str:
        return fill(self._t.gettext(msgid), params)

    def pgettext(self, context: str, msgid: str, /, **params: object) -> str:
        return fill(str(self._t.pgettext(context, msgid)), params)

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        return fill(self._t.ngettext(singular, plural, n), {"num": n, **params})

    def npgettext(self, context: str, singular: str, plural: str, n: int, /, **params: object) -> str:
        return fill(str(self._t.npgettext(context, singular, plural, n)), {"num": n, **params})

    def text(self, msg: Msg, /, **params: object) -> str:
        """A message marked elsewhere with N_ / NC_."""
        if msg.context is None:
            return self.gettext(msg.msgid, **params)
        return self.pgettext(msg.context, msg.msgid, **params)

    @property
    def translations(self) -> Translations:
        return self._t


def compile_catalogue(locale_dir: Path, domain: str, locale: Locale) -> Translations:
    """The locale's .po compiled in memory (fuzzy entries are left out, as msgfmt does)."""
    path = locale_dir / BABEL_LOCALES[locale] / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=BABEL_LOCALES[locale], domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


@cache
def messages(locale: Locale) -> Messages:
    """The services' catalogue (text a service writes itself) in one locale."""
    return Messages(locale, compile_catalogue(SERVICES_LOCALE_DIR, SERVICES_DOMAIN, locale))


def both(msg: Msg) -> tuple[str, str]:
    """(en, zh-CN) of a message: for lists that accept a value in either language."""
    return messages("en").text(msg), messages("zh-CN").text(msg)
