"""The words of escalation emails (services' catalogue, `crm_platform.i18n`), in the manager's
language (`locale` from identity's user events; empty: Chinese)."""

from __future__ import annotations

from typing import Final

from crm_platform.i18n import N_, Msg, messages

TEXTS: Final[dict[str, Msg]] = {
    "escalated_subject": N_("Follow-up overdue %(days)s days: %(title)s"),
    "escalated_body": N_("A follow-up task of your team is %(days)s days overdue and still open.\n\n"
                         "%(title)s\nAssigned to: %(assignee)s\nPlanned for: %(when)s\n\n"
                         "Open the customer: %(link)s\n"),
    # For a recipient who may not see the customer: no title, customer or link.
    "escalated_subject_hidden": N_("Follow-up of %(assignee)s overdue %(days)s days"),
    "escalated_body_hidden": N_("A follow-up task of %(assignee)s is %(days)s days overdue and still open.\n\n"
                                "Planned for: %(when)s\n\nIts customer is outside your data scope, so it is "
                                "not named here; ask %(assignee)s or a tenant admin.\n"),
    "nobody": N_("nobody"),
}


def text(locale: str, key: str, **values: object) -> str:
    return messages("en" if locale == "en" else "zh-CN").text(TEXTS[key], **values)
