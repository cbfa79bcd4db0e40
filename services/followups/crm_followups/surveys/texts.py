"""The words of survey emails, in the services' catalogue (`crm_platform.i18n`), by the survey's
language (`zh-CN` or `en`)."""

from __future__ import annotations

from typing import Final

from crm_platform.i18n import N_, Msg, messages

TEXTS: Final[dict[str, Msg]] = {
    "csat_subject": N_("How satisfied are you with us? (1 minute)"),
    "nps_subject": N_("Would you recommend us? (1 minute)"),
    "csat_body": N_("Hello %(name)s,\n\nThank you for working with us. How satisfied are you with our products and "
                    "service? Your answer takes a minute and helps us improve.\n\nAnswer here: %(link)s\n\n"
                    "The link works once and expires on %(expires)s.\n"),
    "nps_body": N_("Hello %(name)s,\n\nThank you for working with us. How likely are you to recommend us to a "
                   "friend or colleague? Your answer takes a minute and helps us improve.\n\nAnswer here: %(link)s\n\n"
                   "The link works once and expires on %(expires)s.\n"),
    "button": N_("Answer the survey"),
}


def text(language: str, key: str, **values: object) -> str:
    return messages("en" if language == "en" else "zh-CN").text(TEXTS[key], **values)
