"""The permission catalogue: every scope a tenant's roles and API clients can hold, described in
English and Chinese. Served by GET /v1/permissions and listed in docs/access.md."""

from __future__ import annotations

from typing import Final

from crm_platform.auth import TENANT_SCOPES, Scope
from crm_platform.i18n import N_, Msg, both

# scope -> what it allows (services' catalogue)
PERMISSIONS: Final[dict[str, Msg]] = {
    Scope.CUSTOMERS_READ: N_("Read customers in the caller's data scope"),
    Scope.CUSTOMERS_WRITE: N_("Create and change customers"),
    Scope.CUSTOMERS_ADMIN: N_("Customer settings, dictionaries, custom fields and deleted customers"),
    Scope.CUSTOMERS_REVEAL: N_("Reveal customers' sensitive fields (resident ID, bank card); every reveal is audited"),
    Scope.CUSTOMERS_EXPORT: N_(
        "Export customers in the caller's data scope (CSV, XLSX; field policies apply); every export is audited"),
    Scope.CUSTOMERS_DELETE: N_(
        "Permanently erase customers in every service (right to be forgotten); cannot be undone"),
    Scope.TAGS_READ: N_("Read tags, tag rules and customers' tags"),
    Scope.TAGS_MANAGE: N_("Create and change tags and tag rules"),
    Scope.FOLLOWUPS_READ: N_("Read follow-up tasks and cadence rules"),
    Scope.FOLLOWUPS_WRITE: N_("Create and complete follow-up tasks of customers in the caller's data scope"),
    Scope.FOLLOWUPS_MANAGE: N_("Create cadence rules: tags that schedule follow-up tasks for everyone"),
    Scope.REPORTS_READ: N_("Read reports and dashboards"),
    Scope.REPORTS_MANAGE: N_("Publish the tenant's default dashboard and set customer value rules"),
    Scope.WEBHOOKS_MANAGE: N_("Manage webhook endpoints and read deliveries"),
    Scope.USERS_MANAGE: N_("Manage users, their roles and teams"),
    Scope.CLIENTS_MANAGE: N_("Manage the tenant's API clients"),
    Scope.ROLES_MANAGE: N_("Manage custom roles, data scopes and field policies"),
    Scope.AUDIT_READ: N_("Search and export the audit log"),
    Scope.ORDERS_READ: N_("Read orders and contracts of customers in the caller's data scope"),
    Scope.ORDERS_WRITE: N_("Record orders and contracts from outside systems"),
    Scope.TENANT_BACKUP: N_("Take and download backups of all of the tenant's data; every download is audited"),
}


def catalogue() -> list[tuple[str, str, str]]:
    """(scope, en, zh-CN) for every tenant scope, in Scope order. A scope added without an entry
    here still appears (described by its name); tests/identity/roles keeps the table complete."""
    return [(s.value, *both(PERMISSIONS[s.value])) if s.value in PERMISSIONS else (s.value, s.value, s.value)
            for s in TENANT_SCOPES]
