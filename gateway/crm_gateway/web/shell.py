"""What the shell around every signed-in page shows: the menu (web/nav.py) for this user and
page, who is signed in, and in which company. Computed once per render from the session cookie."""

from __future__ import annotations

from dataclasses import dataclass

from crm_gateway.i18n import Locale
from crm_gateway.web.labels import label
from crm_gateway.web.nav import NavLink, navigation
from crm_gateway.web.session import WebSession
from crm_platform.auth import unverified_segment


@dataclass(frozen=True)
class Shell:
    nav: dict[str, list[NavLink]]
    user_label: str
    initials: str
    tenant_name: str
    csrf: str
    # The bell (web/notifications.py): shown to users who get follow-up reminders.
    bell: bool = False


def session_scopes(session: WebSession) -> frozenset[str]:
    """The scopes of the session's token (already verified when the session was made)."""
    try:
        claims = unverified_segment(session.token, 1)
    except ValueError:
        return frozenset()
    return frozenset(str(claims.get("scope", "")).split())


def role_label(role: str, locale: Locale) -> str:
    return label("role", role, locale)


def user_label(session: WebSession, locale: Locale) -> str:
    """Who is signed in: the user's name, else their roles in words."""
    return session.user_name or ", ".join(role_label(r, locale) for r in session.roles)


def initials(name: str) -> str:
    """The avatar's letters: "Wang Fang" -> "WF"; a name in Chinese -> its first character."""
    words = [w for w in name.replace("@", " ").replace(".", " ").split() if w]
    if not words:
        return "?"
    if len(words) == 1 or not words[0].isascii():
        return words[0][:1].upper()
    return (words[0][:1] + words[1][:1]).upper()


def shell_for(session: WebSession, path: str, locale: Locale) -> Shell:
    label = user_label(session, locale)
    return Shell(
        nav=navigation(path, session_scopes(session), session.roles, locale),
        user_label=label,
        initials=initials(session.user_name or label),
        tenant_name=session.tenant_name,
        csrf=session.csrf,
        bell="followups:read" in session_scopes(session),
    )
