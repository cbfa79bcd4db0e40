"""The words of reminder emails, in the services' catalogue (`crm_platform.i18n`), chosen by the
user's language (`locale` from identity's user events; empty: Chinese, the product's default)."""

from __future__ import annotations

from typing import Final

from crm_platform.i18n import N_, NC_, Msg, messages

TEXTS: Final[dict[str, Msg]] = {
    "due_subject": N_("Follow-up due: %(title)s"),
    "overdue_subject": N_("Follow-up overdue: %(title)s"),
    "due_body": N_("A follow-up task of yours is due.\n\n%(title)s\nPlanned for: %(when)s\n\n"
                   "Open the customer: %(link)s\n"),
    "overdue_body": N_("This follow-up task is a day overdue and still open.\n\n%(title)s\nPlanned for: %(when)s\n\n"
                       "Open the customer: %(link)s\n"),
    "digest_subject": N_("Today's follow-ups: %(today)s due today, %(overdue)s overdue"),
    "digest_intro": N_("Good morning, %(name)s. Here are your follow-ups for today."),
    "digest_overdue": NC_("follow-up digest", "Overdue"),
    "digest_today": NC_("follow-up digest", "Today"),
    "digest_footer": N_("See them all: %(link)s"),
}


def text(locale: str, key: str, **values: object) -> str:
    return messages("en" if locale == "en" else "zh-CN").text(TEXTS[key], **values)
