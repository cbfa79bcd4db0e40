"""Row and file error messages of the user import, in the caller's language (the services'
catalogue, `crm_platform.i18n`). The codes are stable (docs/identity.md#user-import); the messages
say which value is at fault."""

from __future__ import annotations

from typing import Final

from crm_platform.i18n import N_, Msg, locale_or_default, messages

MESSAGES: Final[dict[str, Msg]] = {
    "required": N_("Required."),
    "too_long": N_("At most %(limit)s characters."),
    "invalid_email": N_("Not a valid email address."),
    "duplicate_email_in_file": N_("This email is already in row %(row)s of the file."),
    "email_exists": N_("A user with this email exists."),
    "unknown_role": N_("No role is named \"%(role)s\"."),
    "grant_exceeds_own": N_("These roles grant permissions you do not hold."),
    "unknown_team": N_("No team \"%(team)s\"."),
    "ambiguous_team": N_("Several teams are named \"%(team)s\"; give the path, e.g. Sales/North."),
    "unsupported_file": N_("The file is not a spreadsheet: upload the XLSX or CSV template."),
    "file_too_large": N_("The file is larger than %(limit)s bytes."),
    "too_many_rows": N_("The file has %(count)s rows; at most %(limit)s can be imported at once."),
    "no_rows": N_("The file has no user rows under the header."),
    "invalid_characters": N_(
        "Contains characters that are not allowed (control characters; in names, also direction overrides)."),
    "empty_after_cleaning": N_("Has no visible characters."),
    "missing_column": N_("The header has no \"%(column)s\" column."),
}


def message(code: str, locale: str, **params: object) -> str:
    entry = MESSAGES.get(code)
    if entry is None:
        return code
    return messages(locale_or_default(locale)).text(entry, **params)
