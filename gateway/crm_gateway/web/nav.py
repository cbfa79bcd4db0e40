"""The web UI's navigation, as data: one tuple of entries that base.html renders on every signed-in
page, showing only what the user's token allows (the services enforce the same scopes; the menu
only keeps people from being offered pages that would refuse them).

Adding a page to the menu is one line in `NAV` (docs/web.md, "Navigation"): a key, the path, the
label, and the scope (or role) the page needs. Entries are grouped: `MAIN` (what everyone works
in), `ADMIN` (tenant administration, under its own heading); `parent` makes an entry a sub-item
shown under its parent while that section is open.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from crm_gateway.i18n import N_, Locale, Msg, messages

Group = Literal["main", "admin"]
MAIN: Final = "main"
ADMIN: Final = "admin"


@dataclass(frozen=True)
class NavEntry:
    key: str  # stable name; also the `data-nav` attribute the browser tests look for
    href: str
    label: Msg  # N_("English"): translated when the menu is shown
    group: Group = MAIN
    scope: str | None = None  # a token scope the page needs (None: any signed-in user)
    any_scope: tuple[str, ...] = ()  # or: any one of these scopes (a page of sections, each its own scope)
    role: str | None = None  # a role the page needs, for pages no single scope describes
    icon: str = "dot"  # a symbol in templates/_icons.html
    parent: str | None = None  # the key of the entry this one is a sub-item of


NAV: Final[tuple[NavEntry, ...]] = (
    NavEntry("home", "/app/dashboard", N_("Home"), icon="home"),
    NavEntry("customers", "/app/customers", N_("Customers"), scope="customers:read", icon="customers"),
    NavEntry("duplicates", "/app/customers/duplicates", N_("Duplicate customers"), scope="customers:read", icon="dot",
             parent="customers"),
    NavEntry("merges", "/app/customers/merges", N_("Merges"), scope="customers:read", icon="dot",
             parent="customers"),
    NavEntry("customer_import", "/app/customers/import", N_("Import customers"), scope="customers:write", icon="dot",
             parent="customers"),
    NavEntry("value", "/app/value", N_("Customer value"), scope="reports:read", icon="value"),
    NavEntry("reports", "/app/reports", N_("Reports"), scope="reports:read", icon="reports"),
    NavEntry("followups", "/app/followups", N_("Follow-ups"), scope="followups:read", icon="followups"),
    NavEntry("tags", "/app/tags", N_("Tags"), scope="tags:read", icon="tags"),
    NavEntry("users", "/app/users", N_("Users"), ADMIN, scope="users:manage", icon="user"),
    NavEntry("teams", "/app/teams", N_("Teams"), ADMIN, scope="users:manage", icon="team"),
    NavEntry("roles", "/app/roles", N_("Roles"), ADMIN, scope="roles:manage", icon="shield"),
    NavEntry("api_clients", "/app/api-clients", N_("API clients"), ADMIN, scope="clients:manage", icon="key"),
    NavEntry("webhooks", "/app/webhooks", N_("Webhooks"), ADMIN, scope="webhooks:manage", icon="webhook"),
    NavEntry("audit", "/app/audit", N_("Audit log"), ADMIN, scope="audit:read", icon="audit"),
    NavEntry("settings", "/app/settings", N_("Settings"), ADMIN, icon="settings",
             any_scope=("users:manage", "customers:admin", "clients:manage")),
)

# Pages under /app that belong to an entry without sharing its path prefix.
ALIASES: Final[dict[str, str]] = {
    "/app/customer-exports": "customers",
    "/app/customer-bulk-changes": "customers",
    "/app/user-imports": "users",
}


@dataclass(frozen=True)
class NavLink:
    key: str
    href: str
    label: str
    icon: str
    active: bool
    open: bool  # the section this link heads is current: its sub-items are shown
    children: tuple[NavLink, ...] = ()


def allowed(entry: NavEntry, scopes: Collection[str], roles: Collection[str]) -> bool:
    return ((entry.scope is None or entry.scope in scopes) and (entry.role is None or entry.role in roles)
            and (not entry.any_scope or any(s in scopes for s in entry.any_scope)))


def current_key(path: str, entries: Iterable[NavEntry] = NAV) -> str | None:
    """The entry whose path is the longest prefix of `path` (whole segments only)."""
    best: tuple[int, str] | None = None
    candidates = [(e.href, e.key) for e in entries] + list(ALIASES.items())
    for href, key in candidates:
        if (path == href or path.startswith(href.rstrip("/") + "/")) and (best is None or len(href) > best[0]):
            best = (len(href), key)
    return best[1] if best else None


def navigation(path: str, scopes: Collection[str], roles: Collection[str], locale: Locale) -> dict[str, list[NavLink]]:
    """The menu for one page: each group's permitted entries, in order, with the current one marked."""
    visible = [e for e in NAV if allowed(e, scopes, roles)]
    current = current_key(path, visible)
    parents = {e.key: e.parent for e in visible}
    section = parents.get(current) or current if current else None

    def link(entry: NavEntry) -> NavLink:
        children = tuple(link(c) for c in visible if c.parent == entry.key) if entry.key == section else ()
        return NavLink(entry.key, entry.href, messages(locale).text(entry.label), entry.icon,
                       active=entry.key == current, open=entry.key == section, children=children)

    groups: dict[str, list[NavLink]] = {MAIN: [], ADMIN: []}
    for entry in visible:
        if entry.parent is None:
            groups[entry.group].append(link(entry))
    return groups
